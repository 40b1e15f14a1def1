//! Image series built through the engine (CT, MR, DX, the burned-in secondary capture) with the
//! traps of research/deid.md §4 planted in them, and the Patient and General Study modules every
//! object of the set shares.
//!
//! Where the traps sit (patient 0's first study unless noted):
//! - every object: Patient's Name (Latin-1 or three-group Japanese where the profile asks),
//!   Patient ID, Birth Date, Other Patient IDs Sequence (T2), Address, Telephone, Accession, Study
//!   ID, Referring Physician, Institution, Station, Device Serial, staff names (T1);
//!   Study Description with a date and the patient's name (T6);
//! - CT: Referenced Image Sequence to the first slice (T11), Request Attributes Sequence with a
//!   Requested Procedure ID and a private element holding the Patient ID inside the item (T3,
//!   T4), GE safe private attributes and an unsafe `ACME_SITE_01` block with name, ID and birth
//!   date (T4, T5), an overlay whose description and label name the patient (T13), Image Comments with the
//!   Patient ID and a date (T6), decoys: Contrast/Bolus Agent and a date-like Acquisition Number
//!   (T18);
//! - MR: Siemens and Philips safe private attributes (the Siemens block relocated to (0019,0011)
//!   in `hard`, T5), Series Description with a date, Protocol Name with `DR.` and names (T6),
//!   Referenced Image Sequence to a CT slice of the shared Frame of Reference (T10, T11), a decoy
//!   model name; Implicit VR Little Endian in `hard`;
//! - secondary capture: the patient's family name burned into the top band, Burned In Annotation
//!   YES, Source Image Sequence to a CT slice (T11, T13);
//! - DX: a curve group (50xx) naming the patient when `curve_data` (T17).

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::model::{Modality, Series, SeriesSpec, Vendor, build_instances};
use worksample_dicom::pixel::{BurnedInText, burn_in};
use worksample_dicom::pixel::{PixelData, PixelValues};
use worksample_dicom::private::put_private;
use worksample_dicom::write::TransferSyntax;

use super::elements::{code, seq, sop_ref, string, text, us};
use super::{Built, GenerateError, Run};
use crate::canary::CanaryKind;
use crate::contract::text_band;
use crate::params::ObjectKind;

/// The unsafe private creator planted with identifiers (research/deid.md §4.2, T4).
pub(super) const ACME: &str = "ACME_SITE_01";

impl Run<'_> {
    /// Writes the Patient module (with the identity traps), the General Study module and the
    /// Specific Character Set of study `si` into `obj`.
    pub(super) fn patient_study(&self, obj: &mut InMemDicomObject, si: usize) {
        let study = &self.studies[si];
        let p = &self.patients[study.patient];
        let s = &study.engine;
        p.charset.put(obj);
        p.name.put(obj, tags::PATIENT_NAME);
        text(obj, tags::PATIENT_ID, VR::LO, &p.id);
        text(obj, tags::PATIENT_BIRTH_DATE, VR::DA, &p.birth.to_da());
        let engine = &self.engine_patients[study.patient].identity;
        text(obj, tags::PATIENT_SEX, VR::CS, engine.sex.code());
        // Other Patient IDs Sequence (PS3.3 §C.7.1.1): each item an ID and its type.
        let items = p
            .other_ids
            .iter()
            .map(|id| {
                let mut item = InMemDicomObject::new_empty();
                text(&mut item, tags::PATIENT_ID, VR::LO, id);
                text(&mut item, tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT");
                item
            })
            .collect();
        seq(obj, tags::OTHER_PATIENT_I_DS_SEQUENCE, items);
        text(obj, tags::PATIENT_ADDRESS, VR::LO, &p.address);
        text(obj, tags::PATIENT_TELEPHONE_NUMBERS, VR::SH, &p.phone);
        text(obj, tags::STUDY_INSTANCE_UID, VR::UI, &s.uid);
        text(obj, tags::STUDY_DATE, VR::DA, &s.date.to_da());
        text(obj, tags::STUDY_TIME, VR::TM, &s.time.to_tm());
        study.referring.put(obj, tags::REFERRING_PHYSICIAN_NAME);
        text(obj, tags::STUDY_ID, VR::SH, &s.id);
        text(obj, tags::ACCESSION_NUMBER, VR::SH, &s.accession_number);
        text(obj, tags::STUDY_DESCRIPTION, VR::LO, &s.description);
    }

    /// Builds one image series of study `si` through the engine and plants its traps.
    pub(super) fn image_series(
        &mut self,
        si: usize,
        kind: ObjectKind,
        modality: Modality,
    ) -> Result<(), GenerateError> {
        let main = si == 0;
        let patient = self.studies[si].patient;
        let slices = self.params.slices;
        let images = match modality {
            Modality::Dx | Modality::Cr | Modality::Sc => 1,
            Modality::Ct | Modality::Mr if patient == 0 => slices,
            Modality::Ct | Modality::Mr => (slices / 2).max(2),
        };
        let number = self.next_series_number(si);
        let index = self.next_series_index();
        let mut spec = SeriesSpec::new(modality, self.params.rows, self.params.columns, images);
        spec.private_tags = false;
        if modality == Modality::Mr {
            spec.vendor = Some(Vendor::Siemens);
        }
        let engine_patient = self.engine_patients[patient].clone();
        let study = self.studies[si].engine.clone();
        let mut series = Series::draw(self.seed, &engine_patient, &study, index, number, &spec);
        series.equipment.station_name = self.people.draw(CanaryKind::Station)?;
        series.equipment.device_serial_number = self.people.draw(CanaryKind::DeviceSerial)?;
        let performing = self.people.staff()?;
        let operator = self.people.staff()?;
        series.performing_physician = to_engine(&performing);
        series.operator = to_engine(&operator);
        if main && modality == Modality::Mr {
            series.equipment.model = "MAGNETOM Vida".to_owned();
            let date = self.people.text_date_in(0);
            series.description = format!("{} {date}", series.description);
            series.protocol_name = format!(
                "{} DR.{} for {}",
                series.protocol_name, performing.family, self.patients[patient].name.family
            );
        }
        let instances = build_instances(self.seed, &engine_patient, &study, &series);
        let folder = format!("{number:02}_{}", modality.name());
        let ts = if main && modality == Modality::Mr && self.params.implicit_vr_series {
            TransferSyntax::ImplicitVrLittleEndian
        } else {
            TransferSyntax::ExplicitVrLittleEndian
        };
        // Image references point at the set's first CT slice: for the CT itself, its own first
        // slice (a localizer-style reference within the series).
        let first_ct = match (modality, instances.first()) {
            (Modality::Ct, Some(first)) => Some((
                string(&first.dataset, tags::SOP_CLASS_UID),
                string(&first.dataset, tags::SOP_INSTANCE_UID),
            )),
            _ => self.first_ct(),
        };
        for (i, mut instance) in instances.into_iter().enumerate() {
            let file = format!("{folder}/{}", i + 1);
            self.patient_study(&mut instance.dataset, si);
            let mut decoys = Vec::new();
            let mut burned = Vec::new();
            let obj = &mut instance.dataset;
            if main {
                match modality {
                    Modality::Ct => {
                        self.plant_ct(obj, i, &file)?;
                        decoys.push((
                            tags::CONTRAST_BOLUS_AGENT,
                            "contrast agent brand that reads like a name",
                        ));
                        decoys.push((
                            tags::ACQUISITION_NUMBER,
                            "acquisition number that looks like a date",
                        ));
                        if i > 0 {
                            if let Some((class, uid)) = &first_ct {
                                seq(
                                    obj,
                                    tags::REFERENCED_IMAGE_SEQUENCE,
                                    vec![sop_ref(class, uid)],
                                );
                            }
                        }
                    }
                    Modality::Mr => {
                        self.plant_mr(obj, &file)?;
                        decoys.push((
                            tags::MANUFACTURER_MODEL_NAME,
                            "scanner model named like a person",
                        ));
                        if let Some((class, uid)) = &first_ct {
                            seq(
                                obj,
                                tags::REFERENCED_IMAGE_SEQUENCE,
                                vec![sop_ref(class, uid)],
                            );
                        }
                    }
                    Modality::Sc => {
                        let name = self.patients[patient].name.family.clone();
                        if let Some(pixels) = instance.pixels.as_mut() {
                            burn_band(pixels, &name);
                            burned.push(name);
                        }
                        text(obj, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
                        if let Some((class, uid)) = &first_ct {
                            let mut item = sop_ref(class, uid);
                            // Purpose of Reference: the image the capture was derived from
                            // (PS3.16 CID 7202).
                            seq(
                                &mut item,
                                tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                                vec![code("121320", "DCM", "Uncompressed predecessor")],
                            );
                            seq(obj, tags::SOURCE_IMAGE_SEQUENCE, vec![item]);
                        }
                    }
                    Modality::Dx | Modality::Cr => {}
                }
            }
            if modality == Modality::Dx && self.params.curve_data && patient == 0 {
                let family = self.patients[patient].name.family.clone();
                plant_curve(obj, &family);
            }
            let ordinal = self.built.len();
            if let Some(pixels) = instance.pixels.as_mut() {
                stamp(pixels, ordinal);
            }
            let instance_number = string(&instance.dataset, tags::INSTANCE_NUMBER)
                .parse()
                .unwrap_or(i as u32 + 1);
            self.built.push(Built {
                kind,
                patient,
                study: si,
                series_folder: folder.clone(),
                instance_number,
                instance,
                transfer_syntax: ts,
                burned,
                fingerprint: None,
                decoys,
            });
        }
        Ok(())
    }

    /// SOP Class and Instance UID of the first CT image of the set, the target of image
    /// references.
    pub(super) fn first_ct(&self) -> Option<(String, String)> {
        self.built
            .iter()
            .find(|b| b.kind == ObjectKind::Ct)
            .map(|b| {
                (
                    string(&b.instance.dataset, tags::SOP_CLASS_UID),
                    string(&b.instance.dataset, tags::SOP_INSTANCE_UID),
                )
            })
    }

    fn plant_ct(
        &mut self,
        obj: &mut InMemDicomObject,
        slice: usize,
        file: &str,
    ) -> Result<(), GenerateError> {
        let patient = &self.patients[0];
        let (family, given, id, birth) = (
            patient.name.family.clone(),
            patient.name.given.clone(),
            patient.id.clone(),
            patient.birth.to_da(),
        );
        let private_err = |source| GenerateError::Private {
            file: file.to_owned(),
            source,
        };
        // An unsafe block first: in `hard` it takes (0019,0010), pushing GEMS_ACQU_01 to
        // (0019,0011) (PS3.5 §7.8.1).
        let acme_group = if self.params.relocated_private_blocks {
            0x0019
        } else {
            0x0009
        };
        put_private(
            obj,
            acme_group,
            ACME,
            0x01,
            VR::LO,
            PrimitiveValue::from(format!("{family}^{given}")),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            acme_group,
            ACME,
            0x02,
            VR::DA,
            PrimitiveValue::from(birth.as_str()),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            acme_group,
            ACME,
            0x03,
            VR::LO,
            PrimitiveValue::from(id.as_str()),
        )
        .map_err(private_err)?;
        // GE safe private attributes (PS3.15 Table E.3.10-1).
        put_private(
            obj,
            0x0019,
            "GEMS_ACQU_01",
            0x23,
            VR::DS,
            PrimitiveValue::from("39.375"),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x0019,
            "GEMS_ACQU_01",
            0x27,
            VR::DS,
            PrimitiveValue::from("0.5"),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x0043,
            "GEMS_PARM_01",
            0x27,
            VR::SH,
            PrimitiveValue::from("/0.984:1"),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x0043,
            "GEMS_PARM_01",
            0x39,
            VR::IS,
            PrimitiveValue::Strs(
                [
                    "0".to_owned(),
                    "0".to_owned(),
                    "0".to_owned(),
                    "0".to_owned(),
                ]
                .as_slice()
                .into(),
            ),
        )
        .map_err(private_err)?;
        // Request Attributes Sequence (PS3.3 §C.7.6.16? no: General Series, §C.7.3.1) with a
        // private element inside the item (T4).
        let mut item = InMemDicomObject::new_empty();
        let rpid = self.people.draw(CanaryKind::StudyId)?;
        let spsid = self.people.draw(CanaryKind::StudyId)?;
        text(&mut item, tags::REQUESTED_PROCEDURE_ID, VR::SH, &rpid);
        text(&mut item, tags::SCHEDULED_PROCEDURE_STEP_ID, VR::SH, &spsid);
        let date = self.people.text_date_in(3);
        text(
            &mut item,
            tags::REQUESTED_PROCEDURE_DESCRIPTION,
            VR::LO,
            &format!("CT CHEST {date} {}", patient.name.prose()),
        );
        if self.params.private_in_sequence {
            put_private(
                &mut item,
                0x0011,
                ACME,
                0x10,
                VR::LO,
                PrimitiveValue::from(id.as_str()),
            )
            .map_err(private_err)?;
        }
        seq(obj, tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![item]);
        // Decoys that must survive (T18).
        text(obj, tags::CONTRAST_BOLUS_AGENT, VR::LO, "OMNIPAQUE 350");
        text(
            obj,
            tags::ACQUISITION_NUMBER,
            VR::IS,
            &format!("2024{:04}", 101 + slice),
        );
        if slice == 0 {
            let date = self.people.text_date_in(2);
            text(
                obj,
                tags::IMAGE_COMMENTS,
                VR::LT,
                &format!("Follow-up of {id}, compare {date}"),
            );
            plant_overlay(
                obj,
                self.params.rows,
                self.params.columns,
                &format!("{family} {id}"),
            );
        }
        Ok(())
    }

    fn plant_mr(&mut self, obj: &mut InMemDicomObject, file: &str) -> Result<(), GenerateError> {
        let private_err = |source| GenerateError::Private {
            file: file.to_owned(),
            source,
        };
        if self.params.relocated_private_blocks {
            // The relocated block: an unsafe creator takes (0019,0010), so SIEMENS MR HEADER
            // lands at (0019,0011) and B Value at (0019,110C) (tasks/deid/brief.md).
            let id = self.patients[0].id.clone();
            put_private(
                obj,
                0x0019,
                ACME,
                0x03,
                VR::LO,
                PrimitiveValue::from(id.as_str()),
            )
            .map_err(private_err)?;
        }
        let siemens = "SIEMENS MR HEADER";
        put_private(
            obj,
            0x0019,
            siemens,
            0x0C,
            VR::IS,
            PrimitiveValue::from("800"),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x0019,
            siemens,
            0x0D,
            VR::CS,
            PrimitiveValue::from("DIRECTIONAL"),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x0019,
            siemens,
            0x0E,
            VR::FD,
            PrimitiveValue::F64([0.57735, 0.57735, 0.57735].as_slice().into()),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x0019,
            siemens,
            0x27,
            VR::FD,
            PrimitiveValue::F64([266.7, 266.7, 266.7, 266.7, 266.7, 266.7].as_slice().into()),
        )
        .map_err(private_err)?;
        let philips = "Philips MR Imaging DD 001";
        put_private(
            obj,
            0x2005,
            philips,
            0x0D,
            VR::FL,
            PrimitiveValue::F32([0.0f32].as_slice().into()),
        )
        .map_err(private_err)?;
        put_private(
            obj,
            0x2005,
            philips,
            0x0E,
            VR::FL,
            PrimitiveValue::F32([1.25f32].as_slice().into()),
        )
        .map_err(private_err)?;
        Ok(())
    }
}

fn to_engine(p: &super::people::Person) -> worksample_dicom::identity::PersonName {
    worksample_dicom::identity::PersonName {
        family: p.family.clone(),
        given: p.given.clone(),
        prefix: String::new(),
    }
}

/// Burns `line` into the text band of every frame (tasks/deid/brief.md question 7: rows 0 to
/// ⌈Rows / 8⌉ − 1) and nowhere else: the glyphs are drawn, then every row below the band is
/// restored, so a small image clips the text rather than spilling it.
pub(super) fn burn_band(pixels: &mut PixelData, line: &str) {
    let before = pixels.clone();
    let band = text_band(pixels.rows).end;
    burn_in(
        pixels,
        &BurnedInText {
            lines: vec![line.to_owned()],
            origin: (1, 1),
            scale: 1,
        },
    );
    let (rows, columns) = (usize::from(pixels.rows), usize::from(pixels.columns));
    let frame_len = rows * columns;
    let below = usize::from(band) * columns;
    for frame in 0..pixels.frames as usize {
        let range = frame * frame_len + below..(frame + 1) * frame_len;
        match (&mut pixels.values, &before.values) {
            (PixelValues::U8(v), PixelValues::U8(b)) => v[range.clone()].copy_from_slice(&b[range]),
            (PixelValues::U16(v), PixelValues::U16(b)) => {
                v[range.clone()].copy_from_slice(&b[range])
            }
            (PixelValues::I16(v), PixelValues::I16(b)) => {
                v[range.clone()].copy_from_slice(&b[range])
            }
            (PixelValues::U8(_) | PixelValues::U16(_) | PixelValues::I16(_), _) => {}
        }
    }
}

/// Writes the file's ordinal into the first four pixels of the last row (one hex digit each,
/// added to the lowest stored value), so every image's rows below the band are unique in the
/// set and the pixel fingerprint matches exactly one input.
pub(super) fn stamp(pixels: &mut PixelData, ordinal: usize) {
    let (lo, _) = pixels.stored.stored_range();
    let columns = usize::from(pixels.columns);
    let start = (usize::from(pixels.rows) - 1) * columns;
    for k in 0..4.min(columns) {
        let value = lo + ((ordinal >> (4 * k)) & 0xF) as i32;
        let i = start + k;
        match &mut pixels.values {
            PixelValues::U8(v) => v[i] = value as u8,
            PixelValues::U16(v) => v[i] = value as u16,
            PixelValues::I16(v) => v[i] = value as i16,
        }
    }
}

/// An overlay plane in group 6000 (PS3.3 §C.9.2): a graphics box, and Overlay Description and
/// Overlay Label naming the patient; the whole group must go (tasks/deid/brief.md question 6).
fn plant_overlay(obj: &mut InMemDicomObject, rows: u16, columns: u16, comment: &str) {
    us(obj, Tag(0x6000, 0x0010), rows);
    us(obj, Tag(0x6000, 0x0011), columns);
    text(obj, Tag(0x6000, 0x0022), VR::LO, comment);
    text(obj, Tag(0x6000, 0x0040), VR::CS, "G");
    obj.put(DataElement::new(
        Tag(0x6000, 0x0050),
        VR::SS,
        PrimitiveValue::I16([1i16, 1].as_slice().into()),
    ));
    us(obj, Tag(0x6000, 0x0100), 1);
    us(obj, Tag(0x6000, 0x0102), 0);
    // Overlay Data: one bit per pixel, packed little-endian into 16-bit words (PS3.5 §8.1.2).
    let bits = usize::from(rows) * usize::from(columns);
    let mut data = vec![0u8; bits.div_ceil(16) * 2];
    for r in 2..(usize::from(rows) / 4) {
        for c in 2..(usize::from(columns) / 2) {
            let i = r * usize::from(columns) + c;
            data[i / 8] |= 1 << (i % 8);
        }
    }
    obj.put(DataElement::new(
        Tag(0x6000, 0x3000),
        VR::OW,
        PrimitiveValue::U8(data.into()),
    ));
    // Overlay Label names the patient too. No Overlay Comments (60xx,4000): the retired
    // element makes GDCM abort (gdcmOverlay.cxx asserts on it), and the brief has the whole
    // group removed anyway.
    text(obj, Tag(0x6000, 0x1500), VR::LO, comment);
}

/// A retired curve group 5000 (PS3.3 2004 §C.10.2) holding a short waveform and a description
/// naming the patient: the whole group must go (tasks/deid/brief.md question 6).
fn plant_curve(obj: &mut InMemDicomObject, family: &str) {
    us(obj, Tag(0x5000, 0x0005), 1);
    us(obj, Tag(0x5000, 0x0010), 8);
    text(obj, Tag(0x5000, 0x0020), VR::CS, "TAC");
    text(
        obj,
        Tag(0x5000, 0x0022),
        VR::LO,
        &format!("Dose curve {family}"),
    );
    us(obj, Tag(0x5000, 0x0103), 0);
    let data: Vec<u8> = (0u16..8).flat_map(|v| (v * 100).to_le_bytes()).collect();
    obj.put(DataElement::new(
        Tag(0x5000, 0x3000),
        VR::OW,
        PrimitiveValue::U8(data.into()),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use worksample_dicom::pixel::StoredValues;

    #[test]
    fn burned_text_stays_inside_the_band() {
        let stored = StoredValues {
            bits_allocated: 8,
            bits_stored: 8,
            high_bit: 7,
            pixel_representation: 0,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            padding_value: None,
            window_center: 127.0,
            window_width: 256.0,
            photometric: worksample_dicom::pixel::Photometric::Monochrome2,
        };
        let mut px = PixelData {
            rows: 16,
            columns: 64,
            frames: 1,
            values: PixelValues::U8(vec![0; 1024]),
            stored,
        };
        burn_band(&mut px, "QXVORAK");
        let PixelValues::U8(v) = &px.values else {
            unreachable!("built as U8")
        };
        let band = usize::from(text_band(16).end) * 64;
        assert!(v[..band].contains(&255), "text drawn in the band");
        assert!(v[band..].iter().all(|x| *x == 0), "nothing below the band");
    }
}
