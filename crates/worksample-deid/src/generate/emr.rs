//! The Enhanced MR Image (PS3.3 §A.36.2), built by hand from the engine's MR slices: one
//! multi-frame instance with shared and per-frame functional groups, derived from patient 0's
//! MR series (Derivation Image functional group with a Source Image Sequence, T11).
//!
//! Its trap is T16: Device Serial Number is Type 1 in the Enhanced General Equipment module
//! (§C.7.5.2), so X/Z/D resolves to D (a dummy, never removed). Image Type value 1 is
//! `DERIVED` (a multiplanar reformat of the 2D series), which is why the MR acquisition
//! functional groups that are required only for `ORIGINAL` frames (§A.36.2.3) are absent.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::geometry::ds;
use worksample_dicom::model::{Modality, Series, SeriesSpec, Vendor, build_instances};
use worksample_dicom::pixel::{PixelData, PixelValues};
use worksample_dicom::write::TransferSyntax;
use worksample_dicom::{Instance, uid};

use super::elements::{code, multi, seq, sop_ref, string, text, us};
use super::images::stamp;
use super::{Built, GenerateError, Run};
use crate::canary::CanaryKind;
use crate::params::ObjectKind;

/// Enhanced MR Image Storage.
const ENHANCED_MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4.1";

impl Run<'_> {
    /// Builds the Enhanced MR instance of study `si`.
    pub(super) fn enhanced_mr(&mut self, si: usize) -> Result<(), GenerateError> {
        let patient = self.studies[si].patient;
        let number = self.next_series_number(si);
        let index = self.next_series_index();
        let frames = self.params.slices.max(1);
        let mut spec = SeriesSpec::new(Modality::Mr, self.params.rows, self.params.columns, frames);
        spec.private_tags = false;
        spec.vendor = Some(Vendor::Philips);
        let engine_patient = self.engine_patients[patient].clone();
        let study = self.studies[si].engine.clone();
        let series = Series::draw(self.seed, &engine_patient, &study, index, number, &spec);
        let slices = build_instances(self.seed, &engine_patient, &study, &series);
        let serial = self.people.draw(CanaryKind::DeviceSerial)?;
        let station = self.people.draw(CanaryKind::Station)?;
        let operator = self.people.staff()?;
        let sources: Vec<(String, String)> = self
            .built
            .iter()
            .filter(|b| b.study == si && b.kind == ObjectKind::Mr)
            .map(|b| {
                (
                    string(&b.instance.dataset, tags::SOP_CLASS_UID),
                    string(&b.instance.dataset, tags::SOP_INSTANCE_UID),
                )
            })
            .collect();

        let mut obj = InMemDicomObject::new_empty();
        self.patient_study(&mut obj, si);
        let (date, time) = (study.date.to_da(), series.time.to_tm());
        text(
            &mut obj,
            tags::SOP_CLASS_UID,
            VR::UI,
            ENHANCED_MR_IMAGE_STORAGE,
        );
        text(
            &mut obj,
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &uid::derive(self.seed, "deid/emr", index),
        );
        text(&mut obj, tags::INSTANCE_CREATION_DATE, VR::DA, &date);
        text(&mut obj, tags::INSTANCE_CREATION_TIME, VR::TM, &time);
        // General Series (§C.7.3.1) and MR Series (§C.8.13.6).
        text(&mut obj, tags::MODALITY, VR::CS, "MR");
        text(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, &series.uid);
        text(&mut obj, tags::SERIES_NUMBER, VR::IS, &number.to_string());
        text(&mut obj, tags::SERIES_DATE, VR::DA, &date);
        text(&mut obj, tags::SERIES_TIME, VR::TM, &time);
        text(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "MPR T1 3D");
        text(&mut obj, tags::PATIENT_POSITION, VR::CS, "HFS");
        operator.put(&mut obj, tags::OPERATORS_NAME);
        // Frame of Reference (§C.7.4.1): the study's, shared with the CT and MR series.
        text(
            &mut obj,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &study.frame_of_reference_uid,
        );
        text(&mut obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
        // General and Enhanced General Equipment (§C.7.5.1, §C.7.5.2): serial Type 1.
        text(&mut obj, tags::MANUFACTURER, VR::LO, "Philips");
        text(
            &mut obj,
            tags::INSTITUTION_NAME,
            VR::LO,
            &study.institution.name,
        );
        text(&mut obj, tags::STATION_NAME, VR::SH, &station);
        text(&mut obj, tags::MANUFACTURER_MODEL_NAME, VR::LO, "Ingenia");
        text(&mut obj, tags::DEVICE_SERIAL_NUMBER, VR::LO, &serial);
        text(&mut obj, tags::SOFTWARE_VERSIONS, VR::LO, "5.7.1");
        // Enhanced MR Image (§C.8.13.1) with the MR Image Description macro.
        let image_type = ["DERIVED", "PRIMARY", "T1", "RESAMPLED"];
        multi(&mut obj, tags::IMAGE_TYPE, VR::CS, &image_type);
        text(&mut obj, tags::PIXEL_PRESENTATION, VR::CS, "MONOCHROME");
        text(&mut obj, tags::VOLUMETRIC_PROPERTIES, VR::CS, "VOLUME");
        text(
            &mut obj,
            tags::VOLUME_BASED_CALCULATION_TECHNIQUE,
            VR::CS,
            "MPR",
        );
        text(&mut obj, tags::COMPLEX_IMAGE_COMPONENT, VR::CS, "MAGNITUDE");
        text(&mut obj, tags::ACQUISITION_CONTRAST, VR::CS, "T1");
        text(&mut obj, tags::CONTENT_QUALIFICATION, VR::CS, "PRODUCT");
        text(
            &mut obj,
            tags::APPLICABLE_SAFETY_STANDARD_AGENCY,
            VR::CS,
            "IEC",
        );
        text(&mut obj, tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
        text(&mut obj, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
        text(&mut obj, tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY");
        seq(&mut obj, tags::ACQUISITION_CONTEXT_SEQUENCE, Vec::new());
        // Image Pixel (§C.7.6.3).
        let stored = &series.stored;
        us(&mut obj, tags::SAMPLES_PER_PIXEL, 1);
        text(
            &mut obj,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2",
        );
        us(&mut obj, tags::ROWS, series.geometry.rows);
        us(&mut obj, tags::COLUMNS, series.geometry.columns);
        us(&mut obj, tags::BITS_ALLOCATED, stored.bits_allocated);
        us(&mut obj, tags::BITS_STORED, stored.bits_stored);
        us(&mut obj, tags::HIGH_BIT, stored.high_bit);
        us(
            &mut obj,
            tags::PIXEL_REPRESENTATION,
            stored.pixel_representation,
        );
        // Multi-frame Functional Groups (§C.7.6.16).
        text(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
        text(&mut obj, tags::CONTENT_DATE, VR::DA, &date);
        text(&mut obj, tags::CONTENT_TIME, VR::TM, &time);
        text(
            &mut obj,
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            &frames.to_string(),
        );
        let g = &series.geometry;
        let mut shared = InMemDicomObject::new_empty();
        let mut measures = InMemDicomObject::new_empty();
        multi(
            &mut measures,
            tags::PIXEL_SPACING,
            VR::DS,
            &[&ds(g.pixel_spacing[0]), &ds(g.pixel_spacing[1])],
        );
        text(
            &mut measures,
            tags::SLICE_THICKNESS,
            VR::DS,
            &ds(g.slice_thickness),
        );
        seq(&mut shared, tags::PIXEL_MEASURES_SEQUENCE, vec![measures]);
        let mut orientation = InMemDicomObject::new_empty();
        let iop: Vec<String> = g.orientation.iop().iter().map(|v| ds(*v)).collect();
        let iop: Vec<&str> = iop.iter().map(String::as_str).collect();
        multi(
            &mut orientation,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            &iop,
        );
        seq(
            &mut shared,
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![orientation],
        );
        let mut anatomy = InMemDicomObject::new_empty();
        text(&mut anatomy, tags::FRAME_LATERALITY, VR::CS, "U");
        seq(
            &mut anatomy,
            tags::ANATOMIC_REGION_SEQUENCE,
            vec![code("12738006", "SCT", "Brain")],
        );
        seq(&mut shared, tags::FRAME_ANATOMY_SEQUENCE, vec![anatomy]);
        let mut transform = InMemDicomObject::new_empty();
        text(&mut transform, tags::RESCALE_INTERCEPT, VR::DS, "0");
        text(&mut transform, tags::RESCALE_SLOPE, VR::DS, "1");
        text(&mut transform, tags::RESCALE_TYPE, VR::LO, "US");
        seq(
            &mut shared,
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![transform],
        );
        let mut voi = InMemDicomObject::new_empty();
        text(
            &mut voi,
            tags::WINDOW_CENTER,
            VR::DS,
            &ds(stored.window_center),
        );
        text(
            &mut voi,
            tags::WINDOW_WIDTH,
            VR::DS,
            &ds(stored.window_width),
        );
        seq(&mut shared, tags::FRAME_VOILUT_SEQUENCE, vec![voi]);
        let mut frame_type = InMemDicomObject::new_empty();
        multi(&mut frame_type, tags::FRAME_TYPE, VR::CS, &image_type);
        text(
            &mut frame_type,
            tags::PIXEL_PRESENTATION,
            VR::CS,
            "MONOCHROME",
        );
        text(
            &mut frame_type,
            tags::VOLUMETRIC_PROPERTIES,
            VR::CS,
            "VOLUME",
        );
        text(
            &mut frame_type,
            tags::VOLUME_BASED_CALCULATION_TECHNIQUE,
            VR::CS,
            "MPR",
        );
        text(
            &mut frame_type,
            tags::COMPLEX_IMAGE_COMPONENT,
            VR::CS,
            "MAGNITUDE",
        );
        text(&mut frame_type, tags::ACQUISITION_CONTRAST, VR::CS, "T1");
        seq(
            &mut shared,
            tags::MR_IMAGE_FRAME_TYPE_SEQUENCE,
            vec![frame_type],
        );
        if !sources.is_empty() {
            // Derivation Image (§C.7.6.16.2.6): reformatted from the 2D MR series.
            let refs = sources
                .iter()
                .map(|(class, instance)| {
                    let mut item = sop_ref(class, instance);
                    seq(
                        &mut item,
                        tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                        vec![code(
                            "121322",
                            "DCM",
                            "Source image for image processing operation",
                        )],
                    );
                    item
                })
                .collect();
            let mut derivation = InMemDicomObject::new_empty();
            seq(
                &mut derivation,
                tags::DERIVATION_CODE_SEQUENCE,
                vec![code("113072", "DCM", "Multiplanar reformatting")],
            );
            seq(&mut derivation, tags::SOURCE_IMAGE_SEQUENCE, refs);
            seq(
                &mut shared,
                tags::DERIVATION_IMAGE_SEQUENCE,
                vec![derivation],
            );
            // Source Image Evidence (§C.8.13.1): every instance the derivation references.
            let evidence = self.evidence_of(si, ObjectKind::Mr);
            seq(
                &mut obj,
                tags::SOURCE_IMAGE_EVIDENCE_SEQUENCE,
                vec![evidence],
            );
        }
        seq(
            &mut obj,
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            vec![shared],
        );
        let per_frame = (0..frames)
            .map(|i| {
                let mut group = InMemDicomObject::new_empty();
                let mut content = InMemDicomObject::new_empty();
                text(&mut content, tags::STACK_ID, VR::SH, "1");
                obj_ul(&mut content, tags::IN_STACK_POSITION_NUMBER, i + 1);
                obj_ul(&mut content, tags::DIMENSION_INDEX_VALUES, i + 1);
                seq(&mut group, tags::FRAME_CONTENT_SEQUENCE, vec![content]);
                let mut position = InMemDicomObject::new_empty();
                let ipp: Vec<String> = g.position(i).iter().map(|v| ds(*v)).collect();
                let ipp: Vec<&str> = ipp.iter().map(String::as_str).collect();
                multi(&mut position, tags::IMAGE_POSITION_PATIENT, VR::DS, &ipp);
                seq(&mut group, tags::PLANE_POSITION_SEQUENCE, vec![position]);
                group
            })
            .collect();
        seq(
            &mut obj,
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            per_frame,
        );
        // Multi-frame Dimension (§C.7.6.17): frames indexed by In-Stack Position Number.
        let organization = uid::derive(self.seed, "deid/emr-dimension", index);
        let mut org = InMemDicomObject::new_empty();
        text(
            &mut org,
            tags::DIMENSION_ORGANIZATION_UID,
            VR::UI,
            &organization,
        );
        seq(&mut obj, tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![org]);
        let mut dim = InMemDicomObject::new_empty();
        text(
            &mut dim,
            tags::DIMENSION_ORGANIZATION_UID,
            VR::UI,
            &organization,
        );
        dim.put(DataElement::new(
            tags::DIMENSION_INDEX_POINTER,
            VR::AT,
            PrimitiveValue::Tags([tags::IN_STACK_POSITION_NUMBER].as_slice().into()),
        ));
        dim.put(DataElement::new(
            tags::FUNCTIONAL_GROUP_POINTER,
            VR::AT,
            PrimitiveValue::Tags([tags::FRAME_CONTENT_SEQUENCE].as_slice().into()),
        ));
        seq(&mut obj, tags::DIMENSION_INDEX_SEQUENCE, vec![dim]);

        let mut pixels = concat_frames(slices);
        if let Some(px) = pixels.as_mut() {
            stamp(px, self.built.len());
        }
        self.built.push(Built {
            kind: ObjectKind::EnhancedMr,
            patient,
            study: si,
            series_folder: format!("{number:02}_MR"),
            instance_number: 1,
            instance: Instance {
                dataset: obj,
                pixels,
            },
            transfer_syntax: TransferSyntax::ExplicitVrLittleEndian,
            burned: Vec::new(),
            fingerprint: None,
            decoys: Vec::new(),
        });
        Ok(())
    }
}

fn obj_ul(obj: &mut InMemDicomObject, tag: Tag, value: u32) {
    obj.put(DataElement::new(tag, VR::UL, PrimitiveValue::from(value)));
}

/// The engine's slices as the frames of one multi-frame pixel data, in order.
fn concat_frames(slices: Vec<Instance>) -> Option<PixelData> {
    let mut frames = slices.into_iter().filter_map(|s| s.pixels);
    let mut first = frames.next()?;
    for frame in frames {
        match (&mut first.values, frame.values) {
            (PixelValues::U8(a), PixelValues::U8(b)) => a.extend(b),
            (PixelValues::U16(a), PixelValues::U16(b)) => a.extend(b),
            (PixelValues::I16(a), PixelValues::I16(b)) => a.extend(b),
            (PixelValues::U8(_) | PixelValues::U16(_) | PixelValues::I16(_), _) => return None,
        }
        first.frames += 1;
    }
    Some(first)
}
