//! IOD attribute sets: the modules of the CT Image (PS3.3 A.3), MR Image (A.4), Digital X-Ray
//! (A.26), Computed Radiography (A.2) and Secondary Capture (A.8.1) IODs, written from the model.
//!
//! Every Type 1 and Type 2 attribute of each module in the IOD is written (Type 2 empty when we
//! have no value), plus the Type 3 attributes real scanners fill in.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::geometry::ds;
use crate::model::{Acquisition, DxIntent, Modality, Patient, Series, Study, Vendor};
use crate::pixel::{MrWeighting, Photometric, StoredValues};
use crate::private::put_private;
use crate::uid;

/// Thin helper over `InMemDicomObject::put` for the value shapes we write.
struct Writer<'a>(&'a mut InMemDicomObject);

impl Writer<'_> {
    fn text(&mut self, tag: Tag, vr: VR, value: impl Into<String>) {
        let value: String = value.into();
        if value.is_empty() {
            self.empty(tag, vr);
        } else {
            self.0
                .put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        }
    }
    fn multi(&mut self, tag: Tag, vr: VR, values: &[&str]) {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        self.0.put(DataElement::new(
            tag,
            vr,
            PrimitiveValue::Strs(values.into()),
        ));
    }
    fn empty(&mut self, tag: Tag, vr: VR) {
        self.0.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
    }
    fn ds(&mut self, tag: Tag, value: f64) {
        self.text(tag, VR::DS, ds(value));
    }
    fn ds_multi(&mut self, tag: Tag, values: &[f64]) {
        let values: Vec<String> = values.iter().map(|v| ds(*v)).collect();
        self.0.put(DataElement::new(
            tag,
            VR::DS,
            PrimitiveValue::Strs(values.into()),
        ));
    }
    fn is(&mut self, tag: Tag, value: i64) {
        self.text(tag, VR::IS, value.to_string());
    }
    fn us(&mut self, tag: Tag, value: u16) {
        self.0
            .put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
    }
    fn seq(&mut self, tag: Tag, items: Vec<InMemDicomObject>) {
        self.0
            .put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
    }
}

/// Builds the dataset (everything but Pixel Data) of image `index` of `series`.
pub(crate) fn build_dataset(
    seed: u64,
    patient: &Patient,
    study: &Study,
    series: &Series,
    index: u32,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    let mut w = Writer(&mut obj);
    let modality = series.modality;
    let content_time = series.time.plus(index / 4);

    // SOP Common (PS3.3 C.12.1). Specific Character Set is Type 1C: required when the text
    // uses a repertoire other than the default (C.12.1.1.2).
    if let Some(cs) = patient.identity.charset.specific_character_set() {
        w.text(tags::SPECIFIC_CHARACTER_SET, VR::CS, cs);
    }
    w.text(tags::SOP_CLASS_UID, VR::UI, series.sop_class_uid());
    w.text(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        uid::derive(seed, &format!("sop/{}", series.index), u64::from(index)),
    );
    w.text(tags::INSTANCE_CREATION_DATE, VR::DA, study.date.to_da());
    w.text(tags::INSTANCE_CREATION_TIME, VR::TM, content_time.to_tm());

    // Patient (C.7.1.1) and Patient Study (C.7.2.2).
    let id = &patient.identity;
    w.text(tags::PATIENT_NAME, VR::PN, id.name.to_pn());
    w.text(tags::PATIENT_ID, VR::LO, id.id.clone());
    w.text(tags::ISSUER_OF_PATIENT_ID, VR::LO, id.issuer.clone());
    w.text(tags::PATIENT_BIRTH_DATE, VR::DA, id.birth_date.to_da());
    w.text(tags::PATIENT_SEX, VR::CS, id.sex.code());
    w.text(tags::PATIENT_AGE, VR::AS, study.patient_age.clone());
    w.ds(tags::PATIENT_SIZE, id.size_m);
    w.ds(tags::PATIENT_WEIGHT, id.weight_kg);

    // General Study (C.7.2.1).
    w.text(tags::STUDY_INSTANCE_UID, VR::UI, study.uid.clone());
    w.text(tags::STUDY_DATE, VR::DA, study.date.to_da());
    w.text(tags::STUDY_TIME, VR::TM, study.time.to_tm());
    w.text(
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        study.referring_physician.to_pn(),
    );
    w.text(tags::STUDY_ID, VR::SH, study.id.clone());
    w.text(
        tags::ACCESSION_NUMBER,
        VR::SH,
        study.accession_number.clone(),
    );
    w.text(tags::STUDY_DESCRIPTION, VR::LO, study.description.clone());

    // General Series (C.7.3.1); Patient Position is Type 2C, required for CT and MR.
    w.text(tags::MODALITY, VR::CS, modality.code());
    w.text(tags::SERIES_INSTANCE_UID, VR::UI, series.uid.clone());
    w.is(tags::SERIES_NUMBER, i64::from(series.number));
    w.text(tags::SERIES_DATE, VR::DA, study.date.to_da());
    w.text(tags::SERIES_TIME, VR::TM, series.time.to_tm());
    w.text(tags::SERIES_DESCRIPTION, VR::LO, series.description.clone());
    w.text(
        tags::PERFORMING_PHYSICIAN_NAME,
        VR::PN,
        series.performing_physician.to_pn(),
    );
    w.text(tags::OPERATORS_NAME, VR::PN, series.operator.to_pn());
    if !series.protocol_name.is_empty() {
        w.text(tags::PROTOCOL_NAME, VR::LO, series.protocol_name.clone());
    }
    w.text(tags::BODY_PART_EXAMINED, VR::CS, series.body_part.clone());
    if modality.is_cross_sectional() {
        w.text(tags::PATIENT_POSITION, VR::CS, "HFS");
    }

    // General Equipment (C.7.5.1).
    let eq = &series.equipment;
    w.text(tags::MANUFACTURER, VR::LO, eq.vendor.manufacturer());
    w.text(
        tags::INSTITUTION_NAME,
        VR::LO,
        study.institution.name.clone(),
    );
    w.text(
        tags::INSTITUTIONAL_DEPARTMENT_NAME,
        VR::LO,
        study.institution.department.clone(),
    );
    w.text(tags::STATION_NAME, VR::SH, eq.station_name.clone());
    w.text(tags::MANUFACTURER_MODEL_NAME, VR::LO, eq.model.clone());
    w.text(
        tags::DEVICE_SERIAL_NUMBER,
        VR::LO,
        eq.device_serial_number.clone(),
    );
    let versions: Vec<&str> = eq.software_versions.split('\\').collect();
    w.multi(tags::SOFTWARE_VERSIONS, VR::LO, &versions);
    if let Some(padding) = series.stored.padding_value {
        // Pixel Padding Value is US or SS following Pixel Representation (PS3.3 C.7.5.1.1.2).
        let value = if series.stored.pixel_representation == 1 {
            (
                VR::SS,
                PrimitiveValue::from(i16::try_from(padding).unwrap_or(i16::MIN)),
            )
        } else {
            (
                VR::US,
                PrimitiveValue::from(u16::try_from(padding).unwrap_or(0)),
            )
        };
        w.0.put(DataElement::new(
            tags::PIXEL_PADDING_VALUE,
            value.0,
            value.1,
        ));
    }

    // General Acquisition (C.7.10.1) and General Image (C.7.6.1).
    if modality != Modality::Sc {
        w.is(tags::ACQUISITION_NUMBER, 1);
        w.text(tags::ACQUISITION_DATE, VR::DA, study.date.to_da());
        w.text(tags::ACQUISITION_TIME, VR::TM, content_time.to_tm());
    }
    w.is(tags::INSTANCE_NUMBER, i64::from(index) + 1);
    w.text(tags::CONTENT_DATE, VR::DA, study.date.to_da());
    w.text(tags::CONTENT_TIME, VR::TM, content_time.to_tm());
    w.text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    w.text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    if !modality.is_cross_sectional() {
        // Patient Orientation is Type 2C when there is no Image Orientation (Patient) (C.7.6.1.1.1):
        // a PA chest shows the patient's left along the rows and the feet down the columns.
        let orientation: &[&str] = if modality == Modality::Sc {
            &["L", "P"]
        } else {
            &["L", "F"]
        };
        w.multi(tags::PATIENT_ORIENTATION, VR::CS, orientation);
    }

    let g = &series.geometry;
    if modality.is_cross_sectional() {
        // Frame of Reference (C.7.4.1) and Image Plane (C.7.6.2).
        w.text(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            study.frame_of_reference_uid.clone(),
        );
        w.empty(tags::POSITION_REFERENCE_INDICATOR, VR::LO);
        w.ds_multi(tags::PIXEL_SPACING, &g.pixel_spacing);
        w.ds_multi(tags::IMAGE_ORIENTATION_PATIENT, &g.orientation.iop());
        w.ds_multi(tags::IMAGE_POSITION_PATIENT, &g.position(index));
        w.ds(tags::SLICE_THICKNESS, g.slice_thickness);
        w.ds(tags::SPACING_BETWEEN_SLICES, g.slice_spacing);
        if let Some(location) = g.slice_location(index, series.slice_location) {
            w.ds(tags::SLICE_LOCATION, location);
        }
    }

    image_pixel(&mut w, &series.stored, g.rows, g.columns);

    match (modality, series.acquisition) {
        (
            Modality::Ct,
            Acquisition::Ct {
                kvp,
                tube_current_ma,
                exposure_time_ms,
                kernel,
                table_height_mm,
            },
        ) => {
            // CT Image (C.8.2.1).
            w.multi(tags::IMAGE_TYPE, VR::CS, &["ORIGINAL", "PRIMARY", "AXIAL"]);
            rescale(&mut w, &series.stored);
            w.ds(tags::KVP, kvp);
            w.text(tags::SCAN_OPTIONS, VR::CS, "HELICAL MODE");
            w.ds(tags::DATA_COLLECTION_DIAMETER, 500.0);
            w.ds(
                tags::RECONSTRUCTION_DIAMETER,
                g.pixel_spacing[1] * f64::from(g.columns),
            );
            w.ds(tags::GANTRY_DETECTOR_TILT, g.gantry_tilt_deg);
            w.ds(tags::TABLE_HEIGHT, table_height_mm);
            w.text(tags::ROTATION_DIRECTION, VR::CS, "CW");
            w.is(tags::EXPOSURE_TIME, i64::from(exposure_time_ms));
            w.is(tags::X_RAY_TUBE_CURRENT, i64::from(tube_current_ma));
            w.is(
                tags::EXPOSURE,
                i64::from(tube_current_ma * exposure_time_ms / 1000),
            );
            w.text(
                tags::CONVOLUTION_KERNEL,
                VR::SH,
                eq.vendor.kernel_name(kernel),
            );
            voi(&mut w, &series.stored);
        }
        (
            Modality::Mr,
            Acquisition::Mr {
                weighting,
                repetition_time_ms,
                echo_time_ms,
                inversion_time_ms,
                flip_angle_deg,
                field_strength_t,
                echo_train_length,
            },
        ) => {
            // MR Image (C.8.3.1).
            w.multi(tags::IMAGE_TYPE, VR::CS, &["ORIGINAL", "PRIMARY", "OTHER"]);
            let (sequence, variant, name): (&[&str], &[&str], &str) = match weighting {
                MrWeighting::T1 => (&["SE"], &["SP"], "*se2d1"),
                MrWeighting::T2 => (&["SE"], &["SK", "SP"], "*tse2d1_16"),
                MrWeighting::Flair => (&["SE", "IR"], &["SK", "SP", "MP"], "*tir2d1_24"),
            };
            w.multi(tags::SCANNING_SEQUENCE, VR::CS, sequence);
            w.multi(tags::SEQUENCE_VARIANT, VR::CS, variant);
            w.empty(tags::SCAN_OPTIONS, VR::CS);
            w.text(tags::MR_ACQUISITION_TYPE, VR::CS, "2D");
            w.text(tags::SEQUENCE_NAME, VR::SH, name);
            w.ds(tags::REPETITION_TIME, repetition_time_ms);
            w.ds(tags::ECHO_TIME, echo_time_ms);
            if let Some(ti) = inversion_time_ms {
                w.ds(tags::INVERSION_TIME, ti);
            }
            w.is(tags::ECHO_TRAIN_LENGTH, i64::from(echo_train_length));
            w.ds(tags::NUMBER_OF_AVERAGES, 1.0);
            w.ds(
                tags::IMAGING_FREQUENCY,
                (field_strength_t * 42.577_478 * 1e6).round() / 1e6,
            );
            w.text(tags::IMAGED_NUCLEUS, VR::SH, "1H");
            w.is(tags::ECHO_NUMBERS, 1);
            w.ds(tags::MAGNETIC_FIELD_STRENGTH, field_strength_t);
            w.ds(tags::FLIP_ANGLE, flip_angle_deg);
            w.ds(tags::PIXEL_BANDWIDTH, 220.0);
            w.text(tags::IN_PLANE_PHASE_ENCODING_DIRECTION, VR::CS, "ROW");
            w.0.put(DataElement::new(
                tags::ACQUISITION_MATRIX,
                VR::US,
                PrimitiveValue::U16([0, g.columns, g.rows, 0].as_slice().into()),
            ));
            w.text(tags::RECEIVE_COIL_NAME, VR::SH, "HEAD 20");
            w.text(tags::TRANSMIT_COIL_NAME, VR::SH, "Body");
            if series.stored.rescale_slope != 1.0 || series.stored.rescale_intercept != 0.0 {
                rescale(&mut w, &series.stored);
            }
            voi(&mut w, &series.stored);
        }
        (
            Modality::Dx,
            Acquisition::Projection {
                kvp,
                exposure_mas,
                exposure_time_ms,
                source_detector_mm,
            },
        ) => {
            // DX Series (C.8.11.1), DX Anatomy Imaged (C.8.11.2), DX Image (C.8.11.3), DX Detector
            // (C.8.11.4), Acquisition Context (C.7.6.14).
            let intent = match series.dx_intent {
                DxIntent::ForPresentation => "FOR PRESENTATION",
                DxIntent::ForProcessing => "FOR PROCESSING",
            };
            w.text(tags::PRESENTATION_INTENT_TYPE, VR::CS, intent);
            w.text(tags::IMAGE_LATERALITY, VR::CS, "U");
            w.seq(
                tags::ANATOMIC_REGION_SEQUENCE,
                vec![code("51185008", "SCT", "Chest")],
            );
            w.multi(tags::IMAGE_TYPE, VR::CS, &["ORIGINAL", "PRIMARY"]);
            w.text(tags::PIXEL_INTENSITY_RELATIONSHIP, VR::CS, "LIN");
            w.0.put(DataElement::new(
                tags::PIXEL_INTENSITY_RELATIONSHIP_SIGN,
                VR::SS,
                PrimitiveValue::from(1i16),
            ));
            // DX rescale is the identity with Rescale Type "US" (PS3.3 C.8.11.3.1.2).
            w.ds(tags::RESCALE_INTERCEPT, 0.0);
            w.ds(tags::RESCALE_SLOPE, 1.0);
            w.text(tags::RESCALE_TYPE, VR::LO, "US");
            let shape = match series.stored.photometric {
                Photometric::Monochrome1 => "INVERSE",
                Photometric::Monochrome2 => "IDENTITY",
            };
            w.text(tags::PRESENTATION_LUT_SHAPE, VR::CS, shape);
            w.text(tags::DETECTOR_TYPE, VR::CS, "SCINTILLATOR");
            w.text(
                tags::DETECTOR_ID,
                VR::SH,
                format!("DET{}", &eq.device_serial_number[2..]),
            );
            w.ds_multi(tags::IMAGER_PIXEL_SPACING, &g.pixel_spacing);
            // DX Positioning (C.8.11.5): a PA chest on a wall stand.
            w.text(tags::VIEW_POSITION, VR::CS, "PA");
            w.seq(
                tags::VIEW_CODE_SEQUENCE,
                vec![code("399348003", "SCT", "postero-anterior")],
            );
            w.text(tags::POSITIONER_TYPE, VR::CS, "COLUMN");
            w.ds(tags::KVP, kvp);
            w.is(tags::EXPOSURE, i64::from(exposure_mas));
            w.is(tags::EXPOSURE_TIME, i64::from(exposure_time_ms));
            w.ds(tags::DISTANCE_SOURCE_TO_DETECTOR, source_detector_mm);
            w.seq(tags::ACQUISITION_CONTEXT_SEQUENCE, Vec::new());
            if series.dx_intent == DxIntent::ForPresentation {
                voi(&mut w, &series.stored);
            }
        }
        (
            Modality::Cr,
            Acquisition::Projection {
                kvp,
                exposure_mas,
                exposure_time_ms,
                source_detector_mm,
            },
        ) => {
            // CR Series (C.8.1.1) and CR Image (C.8.1.2).
            w.text(tags::VIEW_POSITION, VR::CS, "PA");
            w.ds(tags::KVP, kvp);
            w.is(tags::EXPOSURE, i64::from(exposure_mas));
            w.is(tags::EXPOSURE_TIME, i64::from(exposure_time_ms));
            w.ds(tags::DISTANCE_SOURCE_TO_DETECTOR, source_detector_mm);
            w.ds_multi(tags::IMAGER_PIXEL_SPACING, &g.pixel_spacing);
            w.text(
                tags::PLATE_ID,
                VR::LO,
                format!("PL{}", &eq.device_serial_number[2..]),
            );
            voi(&mut w, &series.stored);
        }
        (Modality::Sc, _) => {
            // SC Equipment (C.8.6.1) and SC Image (C.8.6.2): a workstation screen capture.
            w.text(tags::CONVERSION_TYPE, VR::CS, "WSD");
            w.text(
                tags::SECONDARY_CAPTURE_DEVICE_MANUFACTURER,
                VR::LO,
                eq.vendor.manufacturer(),
            );
            w.text(
                tags::SECONDARY_CAPTURE_DEVICE_MANUFACTURER_MODEL_NAME,
                VR::LO,
                eq.model.clone(),
            );
            w.multi(
                tags::SECONDARY_CAPTURE_DEVICE_SOFTWARE_VERSIONS,
                VR::LO,
                &versions,
            );
            w.text(tags::DATE_OF_SECONDARY_CAPTURE, VR::DA, study.date.to_da());
            w.text(
                tags::TIME_OF_SECONDARY_CAPTURE,
                VR::TM,
                content_time.to_tm(),
            );
            w.multi(tags::IMAGE_TYPE, VR::CS, &["DERIVED", "SECONDARY"]);
            voi(&mut w, &series.stored);
        }
        (Modality::Ct | Modality::Mr | Modality::Dx | Modality::Cr, _) => {
            // A hand-built Series whose acquisition does not match its modality: the module
            // specific attributes are left out rather than invented.
        }
    }

    if series.private_tags {
        vendor_private(&mut obj, series);
    }
    obj
}

/// Image Pixel module (C.7.6.3) attributes from the stored-value conventions.
fn image_pixel(w: &mut Writer<'_>, stored: &StoredValues, rows: u16, columns: u16) {
    w.us(tags::SAMPLES_PER_PIXEL, 1);
    w.text(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        photometric_name(stored.photometric),
    );
    w.us(tags::ROWS, rows);
    w.us(tags::COLUMNS, columns);
    w.us(tags::BITS_ALLOCATED, stored.bits_allocated);
    w.us(tags::BITS_STORED, stored.bits_stored);
    w.us(tags::HIGH_BIT, stored.high_bit);
    w.us(tags::PIXEL_REPRESENTATION, stored.pixel_representation);
}

/// The Photometric Interpretation (0028,0004) code.
pub fn photometric_name(p: Photometric) -> &'static str {
    match p {
        Photometric::Monochrome1 => "MONOCHROME1",
        Photometric::Monochrome2 => "MONOCHROME2",
    }
}

/// Modality LUT rescale (C.11.1 / CT Image C.8.2.1).
fn rescale(w: &mut Writer<'_>, stored: &StoredValues) {
    w.ds(tags::RESCALE_INTERCEPT, stored.rescale_intercept);
    w.ds(tags::RESCALE_SLOPE, stored.rescale_slope);
}

/// VOI LUT window (C.11.2).
fn voi(w: &mut Writer<'_>, stored: &StoredValues) {
    w.ds(tags::WINDOW_CENTER, stored.window_center);
    w.ds(tags::WINDOW_WIDTH, stored.window_width);
}

/// A Code Sequence Macro item (PS3.3 Table 8.8-1), e.g. SNOMED CT 51185008 "Chest" (CID 4009)
/// or 399348003 "postero-anterior" (CID 4010).
fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
        DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from(scheme),
        ),
        DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
    ])
}

/// The vendor's private blocks, creators reserved at (gggg,0010+) (PS3.5 §7.8.1).
fn vendor_private(obj: &mut InMemDicomObject, series: &Series) {
    let txt = |s: &str| PrimitiveValue::from(s);
    let placed = match series.equipment.vendor {
        Vendor::Ge => put_private(
            obj,
            0x0009,
            "GEMS_IDEN_01",
            0x01,
            VR::LO,
            txt("GE_GENESIS_FF"),
        )
        .and_then(|_| {
            put_private(
                obj,
                0x0009,
                "GEMS_IDEN_01",
                0x02,
                VR::SH,
                txt(series.modality.code()),
            )
        })
        .and_then(|_| put_private(obj, 0x0043, "GEMS_PARM_01", 0x27, VR::SH, txt("1.375:1")))
        .and_then(|_| put_private(obj, 0x0019, "GEMS_ACQU_01", 0x23, VR::DS, txt("39.37"))),
        Vendor::Siemens => {
            // A minimal CSA header: "SV10", the 4 magic bytes, zero tags, the 77 marker.
            let mut csa = b"SV10\x04\x03\x02\x01".to_vec();
            csa.extend_from_slice(&0u32.to_le_bytes());
            csa.extend_from_slice(&77u32.to_le_bytes());
            put_private(
                obj,
                0x0029,
                "SIEMENS CSA HEADER",
                0x08,
                VR::CS,
                txt("IMAGE NUM 4"),
            )
            .and_then(|_| {
                put_private(
                    obj,
                    0x0029,
                    "SIEMENS CSA HEADER",
                    0x09,
                    VR::LO,
                    txt("20100114"),
                )
            })
            .and_then(|_| {
                put_private(
                    obj,
                    0x0029,
                    "SIEMENS CSA HEADER",
                    0x10,
                    VR::OB,
                    PrimitiveValue::from(csa),
                )
            })
            .and_then(|_| {
                put_private(
                    obj,
                    0x0029,
                    "SIEMENS MEDCOM HEADER2",
                    0x60,
                    VR::LO,
                    txt("com"),
                )
            })
        }
        Vendor::Philips => put_private(
            obj,
            0x2005,
            "Philips MR Imaging DD 001",
            0x0D,
            VR::FL,
            PrimitiveValue::from(0.0f32),
        )
        .and_then(|_| {
            put_private(
                obj,
                0x2005,
                "Philips MR Imaging DD 001",
                0x0E,
                VR::FL,
                PrimitiveValue::from(1.0f32),
            )
        })
        .and_then(|_| put_private(obj, 0x01F1, "ELSCINT1", 0x26, VR::DS, txt("0.671875"))),
    };
    // The groups above are odd constants with free slots in a fresh dataset, so this cannot fail.
    placed.expect("vendor private groups are odd and have free creator slots");
}
