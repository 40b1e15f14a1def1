//! The PET Image series (PS3.3 §A.21), built by hand: the engine draws no PET. It carries the
//! PET traps of research/deid.md T7 and T16: Series Date and Series Time are Type 1 in the PET
//! Series module (§C.8.9.1), so X/D resolves to D (shift, keep); the Radiopharmaceutical
//! Information Sequence holds the injection time and date-time, whose interval to the
//! acquisition must survive; and the Philips PET safe private attributes (SUV Factor, Activity
//! Concentration Factor) must be kept.

use dicom_core::{PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use rand::Rng;
use rayon::prelude::*;
use worksample_dicom::geometry::ds;
use worksample_dicom::pixel::{Photometric, PixelData, PixelValues, StoredValues};
use worksample_dicom::private::put_private;
use worksample_dicom::rng::stream;
use worksample_dicom::write::TransferSyntax;
use worksample_dicom::{Instance, uid};

use super::elements::{code, multi, seq, text, us};
use super::images::stamp;
use super::{Built, GenerateError, Run};
use crate::canary::CanaryKind;
use crate::params::ObjectKind;

/// PET Image Storage.
const PET_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.128";

/// Pixel spacing and slice spacing of the PET volume, mm.
const SPACING_MM: f64 = 4.0;

impl Run<'_> {
    /// Builds the PET series of study `si`.
    pub(super) fn pet_series(&mut self, si: usize) -> Result<(), GenerateError> {
        let patient = self.studies[si].patient;
        let number = self.next_series_number(si);
        let index = self.next_series_index();
        let (rows, columns) = (self.params.rows, self.params.columns);
        let slices = self.params.slices;
        let station = self.people.draw(CanaryKind::Station)?;
        let serial = self.people.draw(CanaryKind::DeviceSerial)?;
        let operator = self.people.staff()?;
        let s = self.studies[si].engine.clone();
        let date = s.date.to_da();
        // Injection an hour before the acquisition starts (the interval graded by `intervals`).
        let injection = s.time;
        let acquisition = s.time.plus(3600);
        let series_uid = uid::derive(self.seed, "deid/pet-series", index);
        let folder = format!("{number:02}_PT");
        let stored = StoredValues {
            bits_allocated: 16,
            bits_stored: 16,
            high_bit: 15,
            pixel_representation: 0,
            rescale_slope: 0.5,
            rescale_intercept: 0.0,
            padding_value: None,
            window_center: 8000.0,
            window_width: 16000.0,
            photometric: Photometric::Monochrome2,
        };
        let blob = Blob::new(rows, columns);
        // Each slice's pixels come from its own stream, so they are drawn over both cores up
        // front; the headers below are built in order.
        let pixels: Vec<PixelData> = (0..slices)
            .into_par_iter()
            .map(|i| uptake(self.seed, index, i, &blob, stored))
            .collect();
        for (i, mut pixels) in (0..slices).zip(pixels) {
            let mut obj = InMemDicomObject::new_empty();
            self.patient_study(&mut obj, si);
            text(&mut obj, tags::SOP_CLASS_UID, VR::UI, PET_IMAGE_STORAGE);
            text(
                &mut obj,
                tags::SOP_INSTANCE_UID,
                VR::UI,
                &uid::derive(self.seed, &format!("deid/pet/{index}"), u64::from(i)),
            );
            text(&mut obj, tags::INSTANCE_CREATION_DATE, VR::DA, &date);
            text(
                &mut obj,
                tags::INSTANCE_CREATION_TIME,
                VR::TM,
                &acquisition.to_tm(),
            );
            let engine = &self.engine_patients[patient].identity;
            text(&mut obj, tags::PATIENT_AGE, VR::AS, &s.patient_age);
            text(
                &mut obj,
                tags::PATIENT_WEIGHT,
                VR::DS,
                &ds(engine.weight_kg),
            );
            // General Series (§C.7.3.1) and PET Series (§C.8.9.1): Series Date/Time Type 1.
            text(&mut obj, tags::MODALITY, VR::CS, "PT");
            text(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, &series_uid);
            text(&mut obj, tags::SERIES_NUMBER, VR::IS, &number.to_string());
            text(&mut obj, tags::SERIES_DATE, VR::DA, &date);
            text(&mut obj, tags::SERIES_TIME, VR::TM, &acquisition.to_tm());
            text(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "PET WB AC");
            operator.put(&mut obj, tags::OPERATORS_NAME);
            // No Patient Position: it shall not be present with a Patient Orientation Code
            // Sequence (PS3.3 §C.7.3.1.1.2).
            text(&mut obj, tags::BODY_PART_EXAMINED, VR::CS, "WHOLEBODY");
            text(&mut obj, tags::UNITS, VR::CS, "BQML");
            text(&mut obj, tags::COUNTS_SOURCE, VR::CS, "EMISSION");
            multi(&mut obj, tags::SERIES_TYPE, VR::CS, &["STATIC", "IMAGE"]);
            us(&mut obj, tags::NUMBER_OF_SLICES, slices as u16);
            multi(
                &mut obj,
                tags::CORRECTED_IMAGE,
                VR::CS,
                &["DECY", "ATTN", "SCAT", "RAN", "NORM"],
            );
            text(&mut obj, tags::DECAY_CORRECTION, VR::CS, "START");
            text(&mut obj, tags::COLLIMATOR_TYPE, VR::CS, "NONE");
            // PET Isotope (§C.8.9.2): the injection, with its start time and date-time.
            let mut pharm = InMemDicomObject::new_empty();
            seq(
                &mut pharm,
                tags::RADIONUCLIDE_CODE_SEQUENCE,
                vec![code("77004003", "SCT", "^18^Fluorine")],
            );
            text(
                &mut pharm,
                tags::RADIOPHARMACEUTICAL,
                VR::LO,
                "Fluorodeoxyglucose",
            );
            text(
                &mut pharm,
                tags::RADIOPHARMACEUTICAL_START_TIME,
                VR::TM,
                &injection.to_tm(),
            );
            text(
                &mut pharm,
                tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
                VR::DT,
                &format!("{date}{}", injection.to_tm()),
            );
            text(
                &mut pharm,
                tags::RADIONUCLIDE_TOTAL_DOSE,
                VR::DS,
                "370000000",
            );
            text(&mut pharm, tags::RADIONUCLIDE_HALF_LIFE, VR::DS, "6586.2");
            text(
                &mut pharm,
                tags::RADIONUCLIDE_POSITRON_FRACTION,
                VR::DS,
                "0.9686",
            );
            seq(
                &mut obj,
                tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
                vec![pharm],
            );
            // NM/PET Patient Orientation (§C.8.4.6).
            let mut orientation = code("102538003", "SCT", "recumbent");
            seq(
                &mut orientation,
                tags::PATIENT_ORIENTATION_MODIFIER_CODE_SEQUENCE,
                vec![code("40199007", "SCT", "supine")],
            );
            seq(
                &mut obj,
                tags::PATIENT_ORIENTATION_CODE_SEQUENCE,
                vec![orientation],
            );
            seq(
                &mut obj,
                tags::PATIENT_GANTRY_RELATIONSHIP_CODE_SEQUENCE,
                vec![code("102540008", "SCT", "headfirst")],
            );
            // Frame of Reference (§C.7.4.1): its own, the PET has no CT in its study.
            text(
                &mut obj,
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &uid::derive(self.seed, "deid/pet-for", index),
            );
            text(&mut obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
            // General Equipment (§C.7.5.1).
            text(&mut obj, tags::MANUFACTURER, VR::LO, "Philips");
            text(
                &mut obj,
                tags::INSTITUTION_NAME,
                VR::LO,
                &s.institution.name,
            );
            text(&mut obj, tags::STATION_NAME, VR::SH, &station);
            text(&mut obj, tags::MANUFACTURER_MODEL_NAME, VR::LO, "Vereos");
            text(&mut obj, tags::DEVICE_SERIAL_NUMBER, VR::LO, &serial);
            // General Image (§C.7.6.1), Image Plane (§C.7.6.2).
            text(
                &mut obj,
                tags::INSTANCE_NUMBER,
                VR::IS,
                &(i + 1).to_string(),
            );
            text(&mut obj, tags::CONTENT_DATE, VR::DA, &date);
            text(&mut obj, tags::CONTENT_TIME, VR::TM, &acquisition.to_tm());
            let px = ds(SPACING_MM);
            multi(&mut obj, tags::PIXEL_SPACING, VR::DS, &[&px, &px]);
            multi(
                &mut obj,
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                &["1", "0", "0", "0", "1", "0"],
            );
            let x0 = ds(-SPACING_MM * f64::from(columns) / 2.0);
            let y0 = ds(-SPACING_MM * f64::from(rows) / 2.0);
            let z = ds(-SPACING_MM * f64::from(i));
            multi(
                &mut obj,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                &[&x0, &y0, &z],
            );
            text(&mut obj, tags::SLICE_THICKNESS, VR::DS, &px);
            text(&mut obj, tags::SLICE_LOCATION, VR::DS, &z);
            // Image Pixel (§C.7.6.3) and PET Image (§C.8.9.4): Rescale Intercept is 0.
            us(&mut obj, tags::SAMPLES_PER_PIXEL, 1);
            text(
                &mut obj,
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                "MONOCHROME2",
            );
            us(&mut obj, tags::ROWS, rows);
            us(&mut obj, tags::COLUMNS, columns);
            us(&mut obj, tags::BITS_ALLOCATED, 16);
            us(&mut obj, tags::BITS_STORED, 16);
            us(&mut obj, tags::HIGH_BIT, 15);
            us(&mut obj, tags::PIXEL_REPRESENTATION, 0);
            multi(&mut obj, tags::IMAGE_TYPE, VR::CS, &["ORIGINAL", "PRIMARY"]);
            text(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "0");
            text(&mut obj, tags::RESCALE_SLOPE, VR::DS, "0.5");
            text(&mut obj, tags::FRAME_REFERENCE_TIME, VR::DS, "0");
            us(&mut obj, tags::IMAGE_INDEX, (i + 1) as u16);
            text(&mut obj, tags::ACQUISITION_DATE, VR::DA, &date);
            text(
                &mut obj,
                tags::ACQUISITION_TIME,
                VR::TM,
                &acquisition.to_tm(),
            );
            text(&mut obj, tags::ACTUAL_FRAME_DURATION, VR::IS, "180000");
            text(&mut obj, tags::DECAY_FACTOR, VR::DS, "1.0");
            text(&mut obj, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
            text(&mut obj, tags::WINDOW_CENTER, VR::DS, "8000");
            text(&mut obj, tags::WINDOW_WIDTH, VR::DS, "16000");
            // Philips PET safe private attributes (PS3.15 Table E.3.10-1).
            let file = format!("{folder}/{}", i + 1);
            let private_err = |source| GenerateError::Private {
                file: file.clone(),
                source,
            };
            put_private(
                &mut obj,
                0x7053,
                "Philips PET Private Group",
                0x00,
                VR::DS,
                PrimitiveValue::from("0.000347"),
            )
            .map_err(private_err)?;
            put_private(
                &mut obj,
                0x7053,
                "Philips PET Private Group",
                0x09,
                VR::DS,
                PrimitiveValue::from("1.0"),
            )
            .map_err(private_err)?;

            stamp(&mut pixels, self.built.len());
            self.built.push(Built {
                kind: ObjectKind::Pet,
                patient,
                study: si,
                series_folder: folder.clone(),
                instance_number: i + 1,
                instance: Instance {
                    dataset: obj,
                    pixels: Some(pixels),
                },
                transfer_syntax: TransferSyntax::ExplicitVrLittleEndian,
                burned: Vec::new(),
                fingerprint: None,
                decoys: Vec::new(),
            });
        }
        Ok(())
    }
}

/// The uptake blob's mean and its square root at every pixel, row-major: the same for every slice
/// of a series, so worked out once (an exponential and a square root per pixel were most of a
/// PET slice's cost), with the same expressions and so the same values.
struct Blob {
    rows: u16,
    columns: u16,
    /// `(mean, √mean)` per pixel.
    mean: Vec<(f64, f64)>,
}

impl Blob {
    fn new(rows: u16, columns: u16) -> Self {
        let (cy, cx) = (f64::from(rows) / 2.0, f64::from(columns) / 2.0);
        let sigma = f64::from(rows.min(columns)) / 5.0;
        let mut mean = Vec::with_capacity(usize::from(rows) * usize::from(columns));
        for y in 0..rows {
            for x in 0..columns {
                let d2 = (f64::from(y) - cy).powi(2) + (f64::from(x) - cx).powi(2);
                let m = 400.0 + 12_000.0 * (-d2 / (2.0 * sigma * sigma)).exp();
                mean.push((m, m.sqrt()));
            }
        }
        Blob {
            rows,
            columns,
            mean,
        }
    }
}

/// A smooth uptake blob over a low background with seeded Poisson-like noise: one stream per
/// slice, so every slice differs.
fn uptake(seed: u64, series: u64, slice: u32, blob: &Blob, stored: StoredValues) -> PixelData {
    let mut r = stream(seed, &format!("deid/pet-pixels/{series}/{slice}"));
    let (rows, columns) = (blob.rows, blob.columns);
    let values = blob
        .mean
        .iter()
        .map(|&(mean, root)| {
            let noise: f64 = r.random_range(-1.0..1.0) * root * 3.0;
            (mean + noise).clamp(0.0, 65_535.0) as u16
        })
        .collect();
    PixelData {
        rows,
        columns,
        frames: 1,
        values: PixelValues::U16(values),
        stored,
    }
}
