//! The documents the engine lacks, built by hand: Comprehensive SR, Key Object Selection,
//! Grayscale Softcopy Presentation State and RT Structure Set, all in patient 0's first study and
//! all referencing its images.
//!
//! Traps: the SR's content tree nests the patient's name in Person Name (0040,A123) and a Text
//! Value (0040,A160) with name, Patient ID, accession and a free-text date three levels deep
//! (`(0040,A730)[0]>(0040,A730)[0]>(0040,A730)[i]`, T3), a Verifying Observer Sequence with a
//! staff name (T3), and Current Requested Procedure Evidence (T11); the KOS a Key Object
//! Description naming the patient and evidence of the images it selects; the presentation state a
//! Referenced Series Sequence, a text annotation naming the patient (Graphic Annotation Sequence,
//! D) and a Content Creator's Name; the RT structure set an RT Referenced Study Sequence whose
//! Referenced SOP Instance UID is the Study Instance UID (the RT quirk of research/deid.md T11),
//! the CT series, its Frame of Reference, and an ROI Interpreter.
//!
//! Fingerprint attribute of each kind (kept by Table E.1-1 under the task's options, checked by a
//! unit test with `profile::task_action`): SR and KOS Instance Number (0020,0013), presentation
//! state Content Label (0070,0080), RT structure set Instance Number (0020,0013). Each value is
//! unique in the set (`9001`, `9002`, …).

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use worksample_dicom::write::TransferSyntax;
use worksample_dicom::{Instance, uid};

use super::elements::{code, multi, seq, sop_ref, string, text};
use super::{Built, GenerateError, Run};
use crate::canary::CanaryKind;
use crate::params::ObjectKind;

/// Detached Study Management SOP Class (retired), the class RT Referenced Study Sequence items
/// name (PS3.3 §C.8.8.5; what treatment planning systems write).
const DETACHED_STUDY_MANAGEMENT: &str = "1.2.840.10008.3.1.2.3.1";

/// An image of the set as a reference target.
#[derive(Debug, Clone)]
struct Target {
    class: String,
    instance: String,
    series: String,
}

impl Run<'_> {
    /// The images of study `si` of the given kind, in build order.
    fn targets(&self, si: usize, kind: ObjectKind) -> Vec<Target> {
        self.built
            .iter()
            .filter(|b| b.study == si && b.kind == kind)
            .map(|b| Target {
                class: string(&b.instance.dataset, tags::SOP_CLASS_UID),
                instance: string(&b.instance.dataset, tags::SOP_INSTANCE_UID),
                series: string(&b.instance.dataset, tags::SERIES_INSTANCE_UID),
            })
            .collect()
    }

    /// The referenced images: the study's CT slices (and its MR series when present).
    fn evidence_targets(&self, si: usize) -> Vec<Target> {
        let mut out = self.targets(si, ObjectKind::Ct);
        out.extend(self.targets(si, ObjectKind::Mr).into_iter().take(1));
        out
    }

    /// The SOP Common, Patient, General Study, series and General Equipment attributes of a
    /// document, with a fresh series. Returns the data set and the document number that
    /// fingerprints it.
    fn document(
        &mut self,
        si: usize,
        class: &str,
        modality: &str,
        role: &str,
    ) -> Result<(InMemDicomObject, u32, u32), GenerateError> {
        let number = self.next_series_number(si);
        let series_index = self.next_series_index();
        let doc = self.next_document_number();
        let mut obj = InMemDicomObject::new_empty();
        self.patient_study(&mut obj, si);
        text(&mut obj, tags::SOP_CLASS_UID, VR::UI, class);
        text(
            &mut obj,
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &uid::derive(self.seed, &format!("deid/{role}"), series_index),
        );
        let s = &self.studies[si].engine;
        let (date, time) = (s.date.to_da(), s.time.plus(3600).to_tm());
        text(&mut obj, tags::INSTANCE_CREATION_DATE, VR::DA, &date);
        text(&mut obj, tags::INSTANCE_CREATION_TIME, VR::TM, &time);
        text(&mut obj, tags::MODALITY, VR::CS, modality);
        text(
            &mut obj,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &uid::derive(self.seed, &format!("deid/{role}-series"), series_index),
        );
        text(&mut obj, tags::SERIES_NUMBER, VR::IS, &number.to_string());
        text(&mut obj, tags::MANUFACTURER, VR::LO, "WORKSAMPLE");
        let institution = s.institution.name.clone();
        text(&mut obj, tags::INSTITUTION_NAME, VR::LO, &institution);
        let station = self.people.draw(CanaryKind::Station)?;
        text(&mut obj, tags::STATION_NAME, VR::SH, &station);
        text(&mut obj, tags::INSTANCE_NUMBER, VR::IS, &doc.to_string());
        Ok((obj, number, doc))
    }

    fn push_document(
        &mut self,
        si: usize,
        kind: ObjectKind,
        number: u32,
        obj: InMemDicomObject,
        fingerprint: Tag,
        folder: &str,
    ) {
        self.built.push(Built {
            kind,
            patient: self.studies[si].patient,
            study: si,
            series_folder: format!("{number:02}_{folder}"),
            instance_number: 1,
            instance: Instance {
                dataset: obj,
                pixels: None,
            },
            transfer_syntax: TransferSyntax::ExplicitVrLittleEndian,
            burned: Vec::new(),
            fingerprint: Some(fingerprint),
            decoys: Vec::new(),
        });
    }

    /// Current Requested Procedure Evidence Sequence (PS3.3 §C.17.2, Table C.17-3): the study,
    /// then per series the referenced instances.
    fn evidence(&self, si: usize, targets: &[Target]) -> InMemDicomObject {
        let mut by_series: Vec<(String, Vec<InMemDicomObject>)> = Vec::new();
        for t in targets {
            match by_series.iter_mut().find(|(s, _)| *s == t.series) {
                Some((_, refs)) => refs.push(sop_ref(&t.class, &t.instance)),
                None => by_series.push((t.series.clone(), vec![sop_ref(&t.class, &t.instance)])),
            }
        }
        let series_items = by_series
            .into_iter()
            .map(|(series, refs)| {
                let mut item = InMemDicomObject::new_empty();
                text(&mut item, tags::SERIES_INSTANCE_UID, VR::UI, &series);
                seq(&mut item, tags::REFERENCED_SOP_SEQUENCE, refs);
                item
            })
            .collect();
        let mut study = InMemDicomObject::new_empty();
        text(
            &mut study,
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &self.studies[si].engine.uid,
        );
        seq(&mut study, tags::REFERENCED_SERIES_SEQUENCE, series_items);
        study
    }

    /// Hierarchical evidence of the images of `kind` in study `si` (PS3.3 Table C.17-3), for
    /// the Source Image Evidence Sequence of derived images.
    pub(super) fn evidence_of(&self, si: usize, kind: ObjectKind) -> InMemDicomObject {
        self.evidence(si, &self.targets(si, kind))
    }

    /// Comprehensive SR (PS3.3 §A.35.3).
    pub(super) fn sr(&mut self, si: usize) -> Result<(), GenerateError> {
        let (mut obj, number, _) = self.document(si, uids::COMPREHENSIVE_SR_STORAGE, "SR", "sr")?;
        let targets = self.evidence_targets(si);
        let p = self.patients[self.studies[si].patient].clone();
        let s = self.studies[si].engine.clone();
        seq(
            &mut obj,
            tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
            Vec::new(),
        );
        content_date_time(&mut obj, &s);
        text(&mut obj, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
        text(&mut obj, tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
        let verifier = self.people.staff()?;
        let mut observer = InMemDicomObject::new_empty();
        verifier.put(&mut observer, tags::VERIFYING_OBSERVER_NAME);
        seq(
            &mut observer,
            tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
            Vec::new(),
        );
        text(
            &mut observer,
            tags::VERIFYING_ORGANIZATION,
            VR::LO,
            &s.institution.name,
        );
        text(
            &mut observer,
            tags::VERIFICATION_DATE_TIME,
            VR::DT,
            &format!("{}{}", s.date.to_da(), s.time.plus(7200).to_tm()),
        );
        seq(&mut obj, tags::VERIFYING_OBSERVER_SEQUENCE, vec![observer]);
        seq(
            &mut obj,
            tags::PERFORMED_PROCEDURE_CODE_SEQUENCE,
            Vec::new(),
        );
        seq(
            &mut obj,
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![self.evidence(si, &targets)],
        );

        // The content tree: root > Findings > Finding > leaves, so the leaves sit three
        // sequences deep.
        let date = self.people.text_date_in(1);
        let mut leaves = Vec::new();
        let mut pname = item(
            "CONTAINS",
            "PNAME",
            code("121008", "DCM", "Person Observer Name"),
        );
        p.name.put(&mut pname, tags::PERSON_NAME);
        leaves.push(pname);
        let mut note = item("CONTAINS", "TEXT", code("121073", "DCM", "Impression"));
        text(
            &mut note,
            tags::TEXT_VALUE,
            VR::UT,
            &format!(
                "{} ({}, accession {}) seen on {date}: no acute finding.",
                p.name.prose(),
                p.id,
                s.accession_number
            ),
        );
        leaves.push(note);
        let mut when = item(
            "CONTAINS",
            "DATETIME",
            code("111526", "DCM", "DateTime Started"),
        );
        text(
            &mut when,
            tags::DATE_TIME,
            VR::DT,
            &format!("{}{}", s.date.to_da(), s.time.to_tm()),
        );
        leaves.push(when);
        if let Some(t) = targets.first() {
            let mut image = item(
                "CONTAINS",
                "IMAGE",
                code("121112", "DCM", "Source of Measurement"),
            );
            seq(
                &mut image,
                tags::REFERENCED_SOP_SEQUENCE,
                vec![sop_ref(&t.class, &t.instance)],
            );
            leaves.push(image);
        }
        let mut finding = item("CONTAINS", "CONTAINER", code("121071", "DCM", "Finding"));
        text(
            &mut finding,
            tags::CONTINUITY_OF_CONTENT,
            VR::CS,
            "SEPARATE",
        );
        seq(&mut finding, tags::CONTENT_SEQUENCE, leaves);
        let mut findings = item("CONTAINS", "CONTAINER", code("121070", "DCM", "Findings"));
        text(
            &mut findings,
            tags::CONTINUITY_OF_CONTENT,
            VR::CS,
            "SEPARATE",
        );
        seq(&mut findings, tags::CONTENT_SEQUENCE, vec![finding]);
        text(&mut obj, tags::VALUE_TYPE, VR::CS, "CONTAINER");
        seq(
            &mut obj,
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("18748-4", "LN", "Diagnostic Imaging Report")],
        );
        text(&mut obj, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
        seq(&mut obj, tags::CONTENT_SEQUENCE, vec![findings]);
        self.push_document(si, ObjectKind::Sr, number, obj, tags::INSTANCE_NUMBER, "SR");
        Ok(())
    }

    /// Key Object Selection Document (PS3.3 §A.35.4, TID 2010).
    pub(super) fn kos(&mut self, si: usize) -> Result<(), GenerateError> {
        let (mut obj, number, _) =
            self.document(si, uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE, "KO", "kos")?;
        let targets = self.evidence_targets(si);
        let p = self.patients[self.studies[si].patient].clone();
        seq(
            &mut obj,
            tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
            Vec::new(),
        );
        content_date_time(&mut obj, &self.studies[si].engine);
        seq(
            &mut obj,
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![self.evidence(si, &targets)],
        );
        text(&mut obj, tags::VALUE_TYPE, VR::CS, "CONTAINER");
        seq(
            &mut obj,
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("113000", "DCM", "Of Interest")],
        );
        text(&mut obj, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
        let mut template = InMemDicomObject::new_empty();
        text(&mut template, tags::MAPPING_RESOURCE, VR::CS, "DCMR");
        text(&mut template, tags::TEMPLATE_IDENTIFIER, VR::CS, "2010");
        seq(&mut obj, tags::CONTENT_TEMPLATE_SEQUENCE, vec![template]);
        let mut content: Vec<InMemDicomObject> = targets
            .iter()
            .map(|t| {
                let mut image = InMemDicomObject::new_empty();
                text(&mut image, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
                text(&mut image, tags::VALUE_TYPE, VR::CS, "IMAGE");
                seq(
                    &mut image,
                    tags::REFERENCED_SOP_SEQUENCE,
                    vec![sop_ref(&t.class, &t.instance)],
                );
                image
            })
            .collect();
        let mut description = item(
            "CONTAINS",
            "TEXT",
            code("113012", "DCM", "Key Object Description"),
        );
        text(
            &mut description,
            tags::TEXT_VALUE,
            VR::UT,
            &format!("Key images for {}, {}", p.name.prose(), p.id),
        );
        content.push(description);
        seq(&mut obj, tags::CONTENT_SEQUENCE, content);
        self.push_document(
            si,
            ObjectKind::Kos,
            number,
            obj,
            tags::INSTANCE_NUMBER,
            "KO",
        );
        Ok(())
    }

    /// Grayscale Softcopy Presentation State (PS3.3 §A.33.1) on the study's CT series.
    pub(super) fn gsps(&mut self, si: usize) -> Result<(), GenerateError> {
        let (mut obj, number, doc) = self.document(
            si,
            uids::GRAYSCALE_SOFTCOPY_PRESENTATION_STATE_STORAGE,
            "PR",
            "gsps",
        )?;
        let targets = self.targets(si, ObjectKind::Ct);
        let p = self.patients[self.studies[si].patient].clone();
        let (rows, columns) = (i32::from(self.params.rows), i32::from(self.params.columns));
        // Body Part Examined (General Series, Type 3) says what was shown; Laterality, Type 2C
        // for paired body parts, is then absent for the head (PS3.3 §C.7.3.1).
        text(&mut obj, tags::BODY_PART_EXAMINED, VR::CS, "HEAD");
        // Presentation State Identification (PS3.3 §C.11.10).
        text(
            &mut obj,
            tags::CONTENT_LABEL,
            VR::CS,
            &format!("GSPS_{doc}"),
        );
        text(
            &mut obj,
            tags::CONTENT_DESCRIPTION,
            VR::LO,
            "WINDOWED FOR REVIEW",
        );
        let s = &self.studies[si].engine;
        text(
            &mut obj,
            tags::PRESENTATION_CREATION_DATE,
            VR::DA,
            &s.date.to_da(),
        );
        text(
            &mut obj,
            tags::PRESENTATION_CREATION_TIME,
            VR::TM,
            &s.time.plus(5400).to_tm(),
        );
        let creator = self.people.staff()?;
        creator.put(&mut obj, tags::CONTENT_CREATOR_NAME);
        // Presentation State Relationship (§C.11.11): the referenced series and its images.
        let images: Vec<InMemDicomObject> = targets
            .iter()
            .map(|t| sop_ref(&t.class, &t.instance))
            .collect();
        let mut series = InMemDicomObject::new_empty();
        if let Some(t) = targets.first() {
            text(&mut series, tags::SERIES_INSTANCE_UID, VR::UI, &t.series);
        }
        seq(&mut series, tags::REFERENCED_IMAGE_SEQUENCE, images);
        seq(&mut obj, tags::REFERENCED_SERIES_SEQUENCE, vec![series]);
        // Displayed Area (§C.10.4): the whole image, scaled to fit.
        let mut area = InMemDicomObject::new_empty();
        obj_sl(
            &mut area,
            tags::DISPLAYED_AREA_TOP_LEFT_HAND_CORNER,
            &[1, 1],
        );
        obj_sl(
            &mut area,
            tags::DISPLAYED_AREA_BOTTOM_RIGHT_HAND_CORNER,
            &[columns, rows],
        );
        text(
            &mut area,
            tags::PRESENTATION_SIZE_MODE,
            VR::CS,
            "SCALE TO FIT",
        );
        multi(
            &mut area,
            tags::PRESENTATION_PIXEL_ASPECT_RATIO,
            VR::IS,
            &["1", "1"],
        );
        seq(
            &mut obj,
            tags::DISPLAYED_AREA_SELECTION_SEQUENCE,
            vec![area],
        );
        // Graphic Layer (§C.10.7) and Graphic Annotation (§C.10.5): a text label naming the
        // patient, which the basic profile replaces (D).
        let mut layer = InMemDicomObject::new_empty();
        text(&mut layer, tags::GRAPHIC_LAYER, VR::CS, "ANNOTATION");
        text(&mut layer, tags::GRAPHIC_LAYER_ORDER, VR::IS, "1");
        seq(&mut obj, tags::GRAPHIC_LAYER_SEQUENCE, vec![layer]);
        let mut label = InMemDicomObject::new_empty();
        text(
            &mut label,
            tags::BOUNDING_BOX_ANNOTATION_UNITS,
            VR::CS,
            "PIXEL",
        );
        obj_fl(
            &mut label,
            tags::BOUNDING_BOX_TOP_LEFT_HAND_CORNER,
            &[2.0, 2.0],
        );
        obj_fl(
            &mut label,
            tags::BOUNDING_BOX_BOTTOM_RIGHT_HAND_CORNER,
            &[(columns - 2) as f32, 12.0],
        );
        text(
            &mut label,
            tags::BOUNDING_BOX_TEXT_HORIZONTAL_JUSTIFICATION,
            VR::CS,
            "LEFT",
        );
        text(
            &mut label,
            tags::UNFORMATTED_TEXT_VALUE,
            VR::ST,
            &format!("{} {}", p.name.alphabetic(), p.id),
        );
        let mut annotation = InMemDicomObject::new_empty();
        if let Some(t) = targets.first() {
            seq(
                &mut annotation,
                tags::REFERENCED_IMAGE_SEQUENCE,
                vec![sop_ref(&t.class, &t.instance)],
            );
        }
        text(&mut annotation, tags::GRAPHIC_LAYER, VR::CS, "ANNOTATION");
        seq(&mut annotation, tags::TEXT_OBJECT_SEQUENCE, vec![label]);
        seq(
            &mut obj,
            tags::GRAPHIC_ANNOTATION_SEQUENCE,
            vec![annotation],
        );
        // Modality LUT (§C.11.1) of the CT, and the Softcopy Presentation LUT (§C.11.6).
        let ct = self
            .built
            .iter()
            .find(|b| b.study == si && b.kind == ObjectKind::Ct);
        if let Some(ct) = ct {
            for tag in [tags::RESCALE_INTERCEPT, tags::RESCALE_SLOPE] {
                let value = string(&ct.instance.dataset, tag);
                text(&mut obj, tag, VR::DS, &value);
            }
            text(&mut obj, tags::RESCALE_TYPE, VR::LO, "HU");
        }
        text(&mut obj, tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY");
        self.push_document(si, ObjectKind::Gsps, number, obj, tags::CONTENT_LABEL, "PR");
        Ok(())
    }

    /// RT Structure Set (PS3.3 §A.19.3): one closed contour on each CT slice.
    pub(super) fn rtstruct(&mut self, si: usize) -> Result<(), GenerateError> {
        let (mut obj, number, _) =
            self.document(si, uids::RT_STRUCTURE_SET_STORAGE, "RTSTRUCT", "rtstruct")?;
        let targets = self.targets(si, ObjectKind::Ct);
        let s = self.studies[si].engine.clone();
        let operator = self.people.staff()?;
        operator.put(&mut obj, tags::OPERATORS_NAME);
        // Frame of Reference (§C.7.4.1): the CT's, shared with the study's image series.
        text(
            &mut obj,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &s.frame_of_reference_uid,
        );
        text(&mut obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
        // Structure Set (§C.8.8.5).
        text(&mut obj, tags::STRUCTURE_SET_LABEL, VR::SH, "BRAIN");
        text(&mut obj, tags::STRUCTURE_SET_DATE, VR::DA, &s.date.to_da());
        text(
            &mut obj,
            tags::STRUCTURE_SET_TIME,
            VR::TM,
            &s.time.plus(9000).to_tm(),
        );
        let contour_images: Vec<InMemDicomObject> = targets
            .iter()
            .map(|t| sop_ref(&t.class, &t.instance))
            .collect();
        let mut rt_series = InMemDicomObject::new_empty();
        if let Some(t) = targets.first() {
            text(&mut rt_series, tags::SERIES_INSTANCE_UID, VR::UI, &t.series);
        }
        seq(&mut rt_series, tags::CONTOUR_IMAGE_SEQUENCE, contour_images);
        // The RT quirk: the study is referenced by a SOP Instance UID equal to its Study
        // Instance UID.
        let mut rt_study = sop_ref(DETACHED_STUDY_MANAGEMENT, &s.uid);
        seq(
            &mut rt_study,
            tags::RT_REFERENCED_SERIES_SEQUENCE,
            vec![rt_series],
        );
        let mut frame = InMemDicomObject::new_empty();
        text(
            &mut frame,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &s.frame_of_reference_uid,
        );
        seq(
            &mut frame,
            tags::RT_REFERENCED_STUDY_SEQUENCE,
            vec![rt_study],
        );
        seq(
            &mut obj,
            tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
            vec![frame],
        );
        let mut roi = InMemDicomObject::new_empty();
        text(&mut roi, tags::ROI_NUMBER, VR::IS, "1");
        text(
            &mut roi,
            tags::REFERENCED_FRAME_OF_REFERENCE_UID,
            VR::UI,
            &s.frame_of_reference_uid,
        );
        text(&mut roi, tags::ROI_NAME, VR::LO, "BRAIN");
        text(&mut roi, tags::ROI_GENERATION_ALGORITHM, VR::CS, "MANUAL");
        seq(&mut obj, tags::STRUCTURE_SET_ROI_SEQUENCE, vec![roi]);
        // ROI Contour (§C.8.8.6): a square on each slice, at the slice's z.
        let mut contours = Vec::new();
        for t in &targets {
            let ct = self
                .built
                .iter()
                .find(|b| string(&b.instance.dataset, tags::SOP_INSTANCE_UID) == t.instance);
            let z = ct
                .and_then(|b| b.instance.dataset.get(tags::IMAGE_POSITION_PATIENT))
                .and_then(|e| e.to_multi_float64().ok())
                .and_then(|v| v.get(2).copied())
                .unwrap_or(0.0);
            let mut contour = InMemDicomObject::new_empty();
            seq(
                &mut contour,
                tags::CONTOUR_IMAGE_SEQUENCE,
                vec![sop_ref(&t.class, &t.instance)],
            );
            text(
                &mut contour,
                tags::CONTOUR_GEOMETRIC_TYPE,
                VR::CS,
                "CLOSED_PLANAR",
            );
            text(&mut contour, tags::NUMBER_OF_CONTOUR_POINTS, VR::IS, "4");
            let zs = worksample_dicom::geometry::ds(z);
            let points = [
                "-40", "-40", &zs, "40", "-40", &zs, "40", "40", &zs, "-40", "40", &zs,
            ];
            multi(&mut contour, tags::CONTOUR_DATA, VR::DS, &points);
            contours.push(contour);
        }
        let mut roi_contour = InMemDicomObject::new_empty();
        text(&mut roi_contour, tags::REFERENCED_ROI_NUMBER, VR::IS, "1");
        roi_contour.put(DataElement::new(
            tags::ROI_DISPLAY_COLOR,
            VR::IS,
            PrimitiveValue::Strs(
                ["255".to_owned(), "0".to_owned(), "0".to_owned()]
                    .as_slice()
                    .into(),
            ),
        ));
        seq(&mut roi_contour, tags::CONTOUR_SEQUENCE, contours);
        seq(&mut obj, tags::ROI_CONTOUR_SEQUENCE, vec![roi_contour]);
        // RT ROI Observations (§C.8.8.8), with the interpreter's name.
        let interpreter = self.people.staff()?;
        let mut observation = InMemDicomObject::new_empty();
        text(&mut observation, tags::OBSERVATION_NUMBER, VR::IS, "1");
        text(&mut observation, tags::REFERENCED_ROI_NUMBER, VR::IS, "1");
        text(
            &mut observation,
            tags::RTROI_INTERPRETED_TYPE,
            VR::CS,
            "ORGAN",
        );
        interpreter.put(&mut observation, tags::ROI_INTERPRETER);
        seq(
            &mut obj,
            tags::RTROI_OBSERVATIONS_SEQUENCE,
            vec![observation],
        );
        self.push_document(
            si,
            ObjectKind::Rtstruct,
            number,
            obj,
            tags::INSTANCE_NUMBER,
            "RTSTRUCT",
        );
        Ok(())
    }
}

/// Content Date and Content Time of an SR document (PS3.3 §C.17.2): an hour after the study.
fn content_date_time(obj: &mut InMemDicomObject, s: &worksample_dicom::model::Study) {
    text(obj, tags::CONTENT_DATE, VR::DA, &s.date.to_da());
    text(obj, tags::CONTENT_TIME, VR::TM, &s.time.plus(3600).to_tm());
}

/// A content item with its relationship, value type and concept name (PS3.3 §C.17.3).
fn item(relationship: &str, value_type: &str, concept: InMemDicomObject) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    text(&mut item, tags::RELATIONSHIP_TYPE, VR::CS, relationship);
    text(&mut item, tags::VALUE_TYPE, VR::CS, value_type);
    seq(&mut item, tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept]);
    item
}

fn obj_sl(obj: &mut InMemDicomObject, tag: Tag, values: &[i32]) {
    obj.put(DataElement::new(
        tag,
        VR::SL,
        PrimitiveValue::I32(values.into()),
    ));
}

fn obj_fl(obj: &mut InMemDicomObject, tag: Tag, values: &[f32]) {
    obj.put(DataElement::new(
        tag,
        VR::FL,
        PrimitiveValue::F32(values.into()),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Action, AttributeType, task_action};

    #[test]
    fn fingerprint_attributes_are_kept_by_the_profile() {
        for tag in [tags::INSTANCE_NUMBER, tags::CONTENT_LABEL] {
            for ty in [
                AttributeType::Type1,
                AttributeType::Type2,
                AttributeType::Type3,
            ] {
                assert_eq!(task_action(tag, ty), Action::Keep, "{tag}");
            }
        }
    }
}
