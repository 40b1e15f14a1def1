//! The Patient → Study → Series → Instance model and the builders that turn it into datasets.
//!
//! Every value is drawn from a stream keyed by what it describes (see [`crate::rng`]), so a
//! series' instances can be built in parallel and in any order with identical results. A built
//! [`Instance`] holds a plain `InMemDicomObject` that a task may edit before writing.

use rand::Rng;
use rand::seq::IndexedRandom;
use rayon::prelude::*;

use crate::geometry::{Orientation, SliceLocationMode, VolumeGeometry};
use crate::identity::{
    CharsetChoice, Date, Institution, PatientIdentity, PersonName, Time, age_string, draw_accession,
};
use crate::pixel::{
    CtKernel, Lesion, MrWeighting, Noise, Phantom, Photometric, PixelData, StoredValues,
};
use crate::{iod, rng, uid};

/// Imaging modality of a series and the IOD its instances follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Modality {
    /// CT Image Storage (PS3.3 A.3).
    Ct,
    /// MR Image Storage (PS3.3 A.4).
    Mr,
    /// Digital X-Ray Image Storage, for presentation or for processing (PS3.3 A.26).
    Dx,
    /// Computed Radiography Image Storage (PS3.3 A.2).
    Cr,
    /// Secondary Capture Image Storage (PS3.3 A.8.1).
    Sc,
}

impl Modality {
    /// Every modality, in command-line order.
    pub const ALL: [Modality; 5] = [
        Modality::Ct,
        Modality::Mr,
        Modality::Dx,
        Modality::Cr,
        Modality::Sc,
    ];

    /// The name used on the command line and in summaries: CT, MR, DX, CR, SC.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Ct => "CT",
            Modality::Mr => "MR",
            Modality::Dx => "DX",
            Modality::Cr => "CR",
            Modality::Sc => "SC",
        }
    }

    /// The Modality (0008,0060) value; Secondary Capture is "OT" (PS3.3 C.7.3.1.1.1).
    pub fn code(self) -> &'static str {
        match self {
            Modality::Sc => "OT",
            Modality::Ct | Modality::Mr | Modality::Dx | Modality::Cr => self.name(),
        }
    }

    /// Parses CT, MR, DX, CR or SC (any case).
    pub fn parse(text: &str) -> Option<Modality> {
        Modality::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(text))
    }

    /// True for cross-sectional modalities that carry Image Plane and Frame of Reference.
    pub fn is_cross_sectional(self) -> bool {
        match self {
            Modality::Ct | Modality::Mr => true,
            Modality::Dx | Modality::Cr | Modality::Sc => false,
        }
    }
}

/// Presentation Intent Type (0008,0068) of a DX series (PS3.3 C.8.11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DxIntent {
    /// "FOR PRESENTATION": Digital X-Ray Image Storage - For Presentation.
    ForPresentation,
    /// "FOR PROCESSING": Digital X-Ray Image Storage - For Processing.
    ForProcessing,
}

/// Scanner manufacturer, which sets equipment strings, kernels and private blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// GE Healthcare.
    Ge,
    /// Siemens Healthineers.
    Siemens,
    /// Philips.
    Philips,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 3] = [Vendor::Ge, Vendor::Siemens, Vendor::Philips];

    /// Parses ge, siemens or philips (any case).
    pub fn parse(text: &str) -> Option<Vendor> {
        match text.to_ascii_lowercase().as_str() {
            "ge" => Some(Vendor::Ge),
            "siemens" => Some(Vendor::Siemens),
            "philips" => Some(Vendor::Philips),
            _ => None,
        }
    }

    /// Manufacturer (0008,0070) as the vendor writes it.
    pub fn manufacturer(self) -> &'static str {
        match self {
            Vendor::Ge => "GE MEDICAL SYSTEMS",
            Vendor::Siemens => "SIEMENS",
            Vendor::Philips => "Philips",
        }
    }

    fn models(self, modality: Modality) -> &'static [(&'static str, &'static str)] {
        match (self, modality) {
            (Vendor::Ge, Modality::Ct) => &[
                ("Revolution CT", "revo_ct_22.pl.4"),
                ("LightSpeed VCT", "07MW18.4"),
            ],
            (Vendor::Ge, Modality::Mr) => &[
                ("SIGNA Premier", "30\\LX\\MR Software release:RX29.1"),
                ("DISCOVERY MR750w", "27\\LX\\MR Software release:DV26.0_R03"),
            ],
            (Vendor::Ge, Modality::Dx | Modality::Cr) => &[
                ("Definium 8000", "dm_Platform_release_v6"),
                ("Discovery XR656", "dm_Platform_release_v7"),
            ],
            (Vendor::Ge, Modality::Sc) => &[("Advantage Workstation", "AW4.7")],
            (Vendor::Siemens, Modality::Ct) => &[
                ("SOMATOM Force", "syngo CT VB20A"),
                ("SOMATOM Definition AS+", "syngo CT VA48A"),
            ],
            (Vendor::Siemens, Modality::Mr) => &[
                ("MAGNETOM Vida", "syngo MR XA31"),
                ("MAGNETOM Skyra", "syngo MR E11"),
            ],
            (Vendor::Siemens, Modality::Dx | Modality::Cr) => {
                &[("Ysio Max", "VF10C"), ("Multix Fusion", "VF85")]
            }
            (Vendor::Siemens, Modality::Sc) => &[("syngo.via", "VB60A")],
            (Vendor::Philips, Modality::Ct) => {
                &[("IQon Spectral CT", "4.7.5"), ("Brilliance 64", "4.1.6")]
            }
            (Vendor::Philips, Modality::Mr) => &[
                ("Ingenia", "5.7.1\\5.7.1.2"),
                ("Achieva dStream", "5.4.1\\5.4.1.1"),
            ],
            (Vendor::Philips, Modality::Dx | Modality::Cr) => {
                &[("DigitalDiagnost", "4.3.2"), ("PCR Eleva", "2.1.1")]
            }
            (Vendor::Philips, Modality::Sc) => &[("IntelliSpace Portal", "11.1")],
        }
    }

    /// The vendor's name for a CT reconstruction kernel (Convolution Kernel (0018,1210)).
    pub fn kernel_name(self, kernel: CtKernel) -> &'static str {
        match (self, kernel) {
            (Vendor::Ge, CtKernel::Soft) => "SOFT",
            (Vendor::Ge, CtKernel::Standard) => "STANDARD",
            (Vendor::Ge, CtKernel::Bone) => "BONE",
            (Vendor::Siemens, CtKernel::Soft) => "Hr32f",
            (Vendor::Siemens, CtKernel::Standard) => "Hr40f",
            (Vendor::Siemens, CtKernel::Bone) => "Hr64h",
            (Vendor::Philips, CtKernel::Soft) => "A",
            (Vendor::Philips, CtKernel::Standard) => "B",
            (Vendor::Philips, CtKernel::Bone) => "D",
        }
    }
}

/// The device that made a series: General Equipment module values (PS3.3 C.7.5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Equipment {
    /// Vendor.
    pub vendor: Vendor,
    /// Manufacturer's Model Name (0008,1090).
    pub model: String,
    /// Software Versions (0018,1020).
    pub software_versions: String,
    /// Device Serial Number (0018,1000).
    pub device_serial_number: String,
    /// Station Name (0008,1010).
    pub station_name: String,
}

/// A patient and the index it was drawn for.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// 0-based index in the generation.
    pub index: u64,
    /// Identity values.
    pub identity: PatientIdentity,
}

impl Patient {
    /// Draws patient `index` under `seed`, writing text in `charset`.
    pub fn draw(seed: u64, index: u64, charset: CharsetChoice) -> Patient {
        let mut r = rng::stream(seed, &format!("patient/{index}"));
        Patient {
            index,
            identity: PatientIdentity::draw(&mut r, charset),
        }
    }
}

/// One study: General Study and Patient Study module values (PS3.3 C.7.2.1, C.7.2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// 0-based index over all studies of the generation (keys UIDs).
    pub index: u64,
    /// Study Instance UID (0020,000D).
    pub uid: String,
    /// Study ID (0020,0010).
    pub id: String,
    /// Accession Number (0008,0050).
    pub accession_number: String,
    /// Study Date (0008,0020).
    pub date: Date,
    /// Study Time (0008,0030).
    pub time: Time,
    /// Study Description (0008,1030).
    pub description: String,
    /// Referring Physician's Name (0008,0090).
    pub referring_physician: PersonName,
    /// Where it was done.
    pub institution: Institution,
    /// Patient's Age (0010,1010), consistent with birth and study date.
    pub patient_age: String,
    /// Frame of Reference UID (0020,0052) shared by this study's cross-sectional series.
    pub frame_of_reference_uid: String,
}

impl Study {
    /// Draws study `index` (global over the generation) of `patient`, described for `modality`.
    pub fn draw(seed: u64, patient: &Patient, index: u64, modality: Modality) -> Study {
        let mut r = rng::stream(seed, &format!("study/{index}"));
        let charset = patient.identity.charset;
        let earliest = patient.identity.birth_date.add_days(30).max(Date {
            year: 2019,
            month: 1,
            day: 1,
        });
        let latest = Date {
            year: 2025,
            month: 12,
            day: 31,
        };
        let date = Date::from_days(
            r.random_range(earliest.to_days()..=latest.to_days().max(earliest.to_days())),
        );
        let descriptions: &[&str] = match modality {
            Modality::Ct => &["CT HEAD WO CONTRAST", "CT BRAIN ROUTINE", "CT HEAD TRAUMA"],
            Modality::Mr => &[
                "MRI BRAIN WO CONTRAST",
                "MR HEAD ROUTINE",
                "MRI BRAIN STROKE PROTOCOL",
            ],
            Modality::Dx | Modality::Cr => {
                &["XR CHEST PA", "CHEST 1 VIEW", "XR CHEST PA AND LATERAL"]
            }
            Modality::Sc => &["CT HEAD WO CONTRAST", "OUTSIDE IMAGES"],
        };
        Study {
            index,
            uid: uid::derive(seed, "study", index),
            id: format!("{:06}", r.random_range(0..1_000_000u32)),
            accession_number: draw_accession(&mut r),
            date,
            time: Time {
                seconds: r.random_range(7 * 3600..19 * 3600),
            },
            description: pick(&mut r, descriptions).to_string(),
            referring_physician: PersonName::draw_physician(&mut r, charset),
            institution: Institution::draw(&mut r),
            patient_age: age_string(patient.identity.birth_date, date),
            frame_of_reference_uid: uid::derive(seed, "frame-of-reference", index),
        }
    }
}

/// Plane choice for a cross-sectional series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plane {
    /// Axial slices.
    Axial,
    /// Sagittal slices.
    Sagittal,
    /// Coronal slices.
    Coronal,
    /// Double-oblique slices (15° about x, 10° about z).
    Oblique,
    /// Axial CT with the gantry tilted by this many degrees.
    GantryTilt(f64),
}

/// What to build for one series; everything else is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpec {
    /// Modality and IOD.
    pub modality: Modality,
    /// For DX: presentation or processing.
    pub dx_intent: DxIntent,
    /// Vendor; `None` draws one.
    pub vendor: Option<Vendor>,
    /// Rows of each image.
    pub rows: u16,
    /// Columns of each image.
    pub columns: u16,
    /// Images in the series.
    pub images: u32,
    /// Plane of cross-sectional series (ignored for DX, CR, SC).
    pub plane: Plane,
    /// Slice Location override.
    pub slice_location: SliceLocationMode,
    /// Whether to add the vendor's private blocks.
    pub private_tags: bool,
}

impl SeriesSpec {
    /// A spec with the defaults: axial, drawn vendor, consistent Slice Location, private tags on.
    pub fn new(modality: Modality, rows: u16, columns: u16, images: u32) -> SeriesSpec {
        SeriesSpec {
            modality,
            dx_intent: DxIntent::ForPresentation,
            vendor: None,
            rows,
            columns,
            images,
            plane: Plane::Axial,
            slice_location: SliceLocationMode::Consistent,
            private_tags: true,
        }
    }
}

/// Acquisition parameters, by kind of acquisition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acquisition {
    /// CT Image module parameters (PS3.3 C.8.2.1).
    Ct {
        /// KVP (0018,0060).
        kvp: f64,
        /// X-Ray Tube Current (0018,1151), mA.
        tube_current_ma: u32,
        /// Exposure Time (0018,1150), ms.
        exposure_time_ms: u32,
        /// Reconstruction kernel.
        kernel: CtKernel,
        /// Table Height (0018,1130), mm.
        table_height_mm: f64,
    },
    /// MR Image module parameters (PS3.3 C.8.3.1).
    Mr {
        /// Contrast weighting.
        weighting: MrWeighting,
        /// Repetition Time (0018,0080), ms.
        repetition_time_ms: f64,
        /// Echo Time (0018,0081), ms.
        echo_time_ms: f64,
        /// Inversion Time (0018,0082), ms, for inversion recovery.
        inversion_time_ms: Option<f64>,
        /// Flip Angle (0018,1314), degrees.
        flip_angle_deg: f64,
        /// Magnetic Field Strength (0018,0087), T.
        field_strength_t: f64,
        /// Echo Train Length (0018,0091).
        echo_train_length: u32,
    },
    /// Projection radiography parameters (DX, CR).
    Projection {
        /// KVP (0018,0060).
        kvp: f64,
        /// Exposure (0018,1152), mAs.
        exposure_mas: u32,
        /// Exposure Time (0018,1150), ms.
        exposure_time_ms: u32,
        /// Distance Source to Detector (0018,1110), mm.
        source_detector_mm: f64,
    },
    /// Secondary capture: no acquisition.
    None,
}

/// One series, fully drawn: what every instance of it shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// 0-based index over all series of the generation (keys UIDs and streams).
    pub index: u64,
    /// Modality.
    pub modality: Modality,
    /// For DX: presentation or processing.
    pub dx_intent: DxIntent,
    /// Device.
    pub equipment: Equipment,
    /// Series Instance UID (0020,000E).
    pub uid: String,
    /// Series Number (0020,0011).
    pub number: u32,
    /// Series Description (0008,103E).
    pub description: String,
    /// Protocol Name (0018,1030).
    pub protocol_name: String,
    /// Body Part Examined (0018,0015).
    pub body_part: String,
    /// Series Date (0008,0021) is the study date; Series Time (0008,0031).
    pub time: Time,
    /// Performing Physician's Name (0008,1050).
    pub performing_physician: PersonName,
    /// Operators' Name (0008,1070).
    pub operator: PersonName,
    /// Geometry of the stack (for DX/CR/SC only rows, columns and spacing are used).
    pub geometry: VolumeGeometry,
    /// Slice Location behaviour.
    pub slice_location: SliceLocationMode,
    /// Stored-value conventions.
    pub stored: StoredValues,
    /// What the pixels show.
    pub phantom: Phantom,
    /// Acquisition parameters.
    pub acquisition: Acquisition,
    /// Whether vendor private blocks are added.
    pub private_tags: bool,
}

impl Series {
    /// Draws series `index` (global) with Series Number `number` of `patient`'s `study`,
    /// following `spec`.
    pub fn draw(
        seed: u64,
        patient: &Patient,
        study: &Study,
        index: u64,
        number: u32,
        spec: &SeriesSpec,
    ) -> Series {
        let mut r = rng::stream(seed, &format!("series/{index}"));
        let vendor = spec.vendor.unwrap_or_else(|| *pick(&mut r, &Vendor::ALL));
        let (model, software) = *pick(&mut r, vendor.models(spec.modality));
        let equipment = Equipment {
            vendor,
            model: model.to_owned(),
            software_versions: software.to_owned(),
            device_serial_number: format!(
                "{}{:06}",
                &vendor.manufacturer()[..2].to_ascii_uppercase(),
                r.random_range(0..1_000_000u32)
            ),
            station_name: format!(
                "{}{}{:02}",
                study.institution.station_prefix,
                spec.modality.name(),
                r.random_range(1..20u32)
            ),
        };
        // Staff names use the patient's repertoire so one Specific Character Set covers the instance.
        let staff_charset = patient.identity.charset;
        let performing_physician = PersonName::draw_physician(&mut r, staff_charset);
        let female = r.random_bool(0.5);
        let operator = PersonName::draw(&mut r, staff_charset, female);
        let time = study
            .time
            .plus(number.saturating_sub(1) * 240 + r.random_range(30..200));
        let (rows, columns, n) = (spec.rows.max(1), spec.columns.max(1), spec.images.max(1));

        let (geometry, stored, phantom, acquisition, description, protocol, body_part) = match spec
            .modality
        {
            Modality::Ct => {
                let spacing = standard_spacing(180.0 / f64::from(n), &[0.625, 1.0, 1.25, 2.5, 5.0]);
                let px = round_to(250.0 / f64::from(columns.max(rows)), 1e-6);
                let geometry = plane_geometry(spec.plane, rows, columns, [px, px], spacing, n);
                let kernel = *pick(
                    &mut r,
                    &[CtKernel::Soft, CtKernel::Standard, CtKernel::Bone],
                );
                let stored = match vendor {
                    Vendor::Ge => StoredValues::ct_signed_16(),
                    Vendor::Siemens | Vendor::Philips => StoredValues::ct_unsigned_12(),
                };
                // A third of head CTs carry a small hyperdense lesion inside the brain.
                let lesion = r.random_bool(1.0 / 3.0).then(|| Lesion {
                    centre: [
                        r.random_range(-40.0..40.0),
                        r.random_range(-40.0..40.0),
                        r.random_range(-20.0..30.0),
                    ],
                    radius_mm: r.random_range(5.0..12.0),
                    contrast_hu: r.random_range(40.0..80.0),
                });
                let plane = plane_label(spec.plane);
                (
                    geometry,
                    stored,
                    Phantom::HeadCt { lesion },
                    Acquisition::Ct {
                        kvp: *pick(&mut r, &[100.0, 120.0, 140.0]),
                        tube_current_ma: r.random_range(150..400),
                        exposure_time_ms: *pick(&mut r, &[500, 750, 1000]),
                        kernel,
                        table_height_mm: f64::from(r.random_range(140..180u32)),
                    },
                    format!(
                        "{plane} {} {}",
                        crate::geometry::ds(spacing),
                        vendor.kernel_name(kernel)
                    )
                    .to_uppercase(),
                    "ROUTINE HEAD".to_owned(),
                    "HEAD".to_owned(),
                )
            }
            Modality::Mr => {
                let spacing =
                    standard_spacing(150.0 / f64::from(n), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
                let px = round_to(230.0 / f64::from(columns.max(rows)), 1e-6);
                let mut geometry = plane_geometry(spec.plane, rows, columns, [px, px], spacing, n);
                geometry.slice_thickness = (spacing * 0.8 * 10.0).round() / 10.0;
                let weighting = [MrWeighting::T1, MrWeighting::T2, MrWeighting::Flair]
                    [(number as usize + 2) % 3];
                let field = *pick(&mut r, &[1.5, 3.0]);
                let (tr, te, ti, flip, etl, name) = match weighting {
                    MrWeighting::T1 => (
                        r.random_range(450.0..650.0_f64).round(),
                        10.0,
                        None,
                        90.0,
                        1,
                        "T1",
                    ),
                    MrWeighting::T2 => (
                        r.random_range(3500.0..5500.0_f64).round(),
                        95.0,
                        None,
                        150.0,
                        16,
                        "T2",
                    ),
                    MrWeighting::Flair => (9000.0, 120.0, Some(2500.0), 150.0, 24, "FLAIR"),
                };
                (
                    geometry,
                    StoredValues::mr_unsigned(12),
                    Phantom::MrBrain { weighting },
                    Acquisition::Mr {
                        weighting,
                        repetition_time_ms: tr,
                        echo_time_ms: te,
                        inversion_time_ms: ti,
                        flip_angle_deg: flip,
                        field_strength_t: field,
                        echo_train_length: etl,
                    },
                    format!("{} {name}", plane_label(spec.plane)),
                    format!("BRAIN {name}"),
                    "BRAIN".to_owned(),
                )
            }
            Modality::Dx | Modality::Cr => {
                let px = round_to(430.0 / f64::from(columns.max(rows)), 1e-6);
                let mut geometry = VolumeGeometry::centred(
                    rows,
                    columns,
                    [px, px],
                    1.0,
                    Orientation::CORONAL,
                    n,
                    [0.0; 3],
                );
                geometry.slice_thickness = 0.0;
                let photometric = if spec.modality == Modality::Cr {
                    Photometric::Monochrome1
                } else {
                    Photometric::Monochrome2
                };
                (
                    geometry,
                    StoredValues::dx(12, photometric),
                    Phantom::ChestRadiograph,
                    Acquisition::Projection {
                        kvp: *pick(&mut r, &[110.0, 120.0, 125.0]),
                        exposure_mas: r.random_range(2..6),
                        exposure_time_ms: r.random_range(5..20),
                        source_detector_mm: 1800.0,
                    },
                    "CHEST PA".to_owned(),
                    "THORAX PA".to_owned(),
                    "CHEST".to_owned(),
                )
            }
            Modality::Sc => {
                let px = round_to(250.0 / f64::from(columns.max(rows)), 1e-6);
                let geometry = VolumeGeometry::centred(
                    rows,
                    columns,
                    [px, px],
                    5.0,
                    Orientation::AXIAL,
                    n,
                    [0.0; 3],
                );
                (
                    geometry,
                    sc_stored(),
                    Phantom::HeadCt { lesion: None },
                    Acquisition::None,
                    "SCREEN SAVE".to_owned(),
                    String::new(),
                    "HEAD".to_owned(),
                )
            }
        };
        Series {
            index,
            modality: spec.modality,
            dx_intent: spec.dx_intent,
            equipment,
            uid: uid::derive(seed, "series", index),
            number,
            description,
            protocol_name: protocol,
            body_part,
            time,
            performing_physician,
            operator,
            geometry,
            slice_location: spec.slice_location,
            stored,
            phantom,
            acquisition,
            private_tags: spec.private_tags,
        }
    }

    /// The SOP Class UID of this series' instances.
    pub fn sop_class_uid(&self) -> &'static str {
        use dicom_dictionary_std::uids;
        match (self.modality, self.dx_intent) {
            (Modality::Ct, _) => uids::CT_IMAGE_STORAGE,
            (Modality::Mr, _) => uids::MR_IMAGE_STORAGE,
            (Modality::Dx, DxIntent::ForPresentation) => {
                uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION
            }
            (Modality::Dx, DxIntent::ForProcessing) => {
                uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING
            }
            (Modality::Cr, _) => uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
            (Modality::Sc, _) => uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
        }
    }

    /// Noise for this series' pixels.
    pub fn noise(&self) -> Noise {
        match self.acquisition {
            Acquisition::Ct { kernel, .. } => Noise::for_kernel(kernel),
            Acquisition::Mr { .. } => Noise::Gaussian { sigma: 8.0 },
            Acquisition::Projection { .. } => Noise::Gaussian { sigma: 6.0 },
            Acquisition::None => Noise::None,
        }
    }
}

/// One built instance: a dataset a task may edit, and the pixels the writer encodes.
///
/// The writer adds Pixel Data (7FE0,0010) from `pixels` in the transfer syntax asked for; the
/// Image Pixel module attributes describing it are already in `dataset`.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Every attribute except Pixel Data.
    pub dataset: dicom_object::InMemDicomObject,
    /// Stored pixel values, or `None` for an instance without pixels (or whose dataset
    /// already holds Pixel Data).
    pub pixels: Option<PixelData>,
}

impl Instance {
    /// SOP Instance UID (0008,0018) of the dataset, if present and not empty.
    pub fn sop_instance_uid(&self) -> Option<String> {
        let elem = self
            .dataset
            .get(dicom_dictionary_std::tags::SOP_INSTANCE_UID)?;
        let uid = elem.to_str().ok()?.trim_end_matches(['\0', ' ']).to_owned();
        (!uid.is_empty()).then_some(uid)
    }
}

/// Builds image `index` (0-based) of `series`.
pub fn build_instance(
    seed: u64,
    patient: &Patient,
    study: &Study,
    series: &Series,
    index: u32,
) -> Instance {
    let mut r = rng::stream(seed, &format!("pixels/{}/{index}", series.index));
    let pixels = match series.modality {
        Modality::Ct | Modality::Mr | Modality::Sc => crate::pixel::render_slice(
            &series.phantom,
            &series.geometry.sampling_grid(index),
            &series.stored,
            series.noise(),
            &mut r,
        ),
        Modality::Dx | Modality::Cr => crate::pixel::render_projection(
            &series.phantom,
            series.geometry.rows,
            series.geometry.columns,
            series.geometry.pixel_spacing,
            &series.stored,
            series.noise(),
            &mut r,
        ),
    };
    Instance {
        pixels: Some(pixels),
        ..build_header(seed, patient, study, series, index)
    }
}

/// Image `index` of `series` without its pixels (`pixels` is `None`), for a caller that draws
/// its own: the same data set as [`build_instance`]'s, without rendering an image only to
/// replace it.
pub fn build_header(
    seed: u64,
    patient: &Patient,
    study: &Study,
    series: &Series,
    index: u32,
) -> Instance {
    Instance {
        dataset: iod::build_dataset(seed, patient, study, series, index),
        pixels: None,
    }
}

/// Builds every image of `series` in parallel; the result does not depend on the thread count.
pub fn build_instances(
    seed: u64,
    patient: &Patient,
    study: &Study,
    series: &Series,
) -> Vec<Instance> {
    (0..series.geometry.count)
        .into_par_iter()
        .map(|i| build_instance(seed, patient, study, series, i))
        .collect()
}

fn plane_geometry(
    plane: Plane,
    rows: u16,
    columns: u16,
    px: [f64; 2],
    spacing: f64,
    n: u32,
) -> VolumeGeometry {
    let centre = [0.0, 0.0, 0.0];
    match plane {
        Plane::Axial => {
            VolumeGeometry::centred(rows, columns, px, spacing, Orientation::AXIAL, n, centre)
        }
        Plane::Sagittal => {
            VolumeGeometry::centred(rows, columns, px, spacing, Orientation::SAGITTAL, n, centre)
        }
        Plane::Coronal => {
            VolumeGeometry::centred(rows, columns, px, spacing, Orientation::CORONAL, n, centre)
        }
        Plane::Oblique => VolumeGeometry::centred(
            rows,
            columns,
            px,
            spacing,
            Orientation::oblique(15.0, 10.0),
            n,
            centre,
        ),
        Plane::GantryTilt(deg) => {
            VolumeGeometry::gantry_tilted(rows, columns, px, spacing, deg, n, centre)
        }
    }
}

/// Secondary capture of a brain-windowed CT: 8-bit values spanning 0–80 HU (slope 80/255).
fn sc_stored() -> StoredValues {
    StoredValues {
        bits_allocated: 8,
        bits_stored: 8,
        high_bit: 7,
        pixel_representation: 0,
        rescale_slope: 80.0 / 255.0,
        rescale_intercept: 0.0,
        padding_value: None,
        window_center: 127.5,
        window_width: 256.0,
        photometric: Photometric::Monochrome2,
    }
}

fn plane_label(plane: Plane) -> &'static str {
    match plane {
        Plane::Axial | Plane::GantryTilt(_) => "AX",
        Plane::Sagittal => "SAG",
        Plane::Coronal => "COR",
        Plane::Oblique => "OBL",
    }
}

/// The largest standard spacing not above `wanted`, or the smallest standard one.
fn standard_spacing(wanted: f64, standard: &[f64]) -> f64 {
    standard
        .iter()
        .copied()
        .filter(|s| *s <= wanted)
        .fold(standard[0], f64::max)
}

fn round_to(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

fn pick<'a, T>(rng: &mut impl Rng, list: &'a [T]) -> &'a T {
    list.choose(rng).expect("lists are non-empty")
}
