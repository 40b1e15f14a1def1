//! Whole-study synthesis behind `worksample synth`: patients × studies × series × images written
//! to a folder in parallel, with a summary and a pixel manifest for the interop checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use rayon::prelude::*;

use crate::error::DicomError;
use crate::geometry::SliceLocationMode;
use crate::identity::CharsetChoice;
use crate::model::{
    DxIntent, Instance, Modality, Patient, Plane, Series, SeriesSpec, Study, Vendor, build_instance,
};
use crate::write::{TransferSyntax, WriteOptions, write_file};

/// What to synthesize.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// Seed of every value, UID and pixel.
    pub seed: u64,
    /// Modalities; study `k` (over all patients) uses `modalities[k % len]`.
    pub modalities: Vec<Modality>,
    /// For DX: presentation or processing.
    pub dx_intent: DxIntent,
    /// Number of patients.
    pub patients: u32,
    /// Studies per patient.
    pub studies_per_patient: u32,
    /// Series per study.
    pub series_per_study: u32,
    /// Images per series (slices for CT/MR).
    pub images_per_series: u32,
    /// Rows of each image.
    pub rows: u16,
    /// Columns of each image.
    pub columns: u16,
    /// Transfer syntax of every file.
    pub transfer_syntax: TransferSyntax,
    /// Vendor of every series; `None` draws one per series.
    pub vendor: Option<Vendor>,
    /// Add vendor private blocks. By default, enabled.
    pub private_tags: bool,
    /// Write the 128-byte preamble and "DICM". By default, enabled.
    pub preamble: bool,
    /// Write the file meta group. By default, enabled.
    pub file_meta: bool,
    /// Repertoire of every patient; `None` draws per patient (mostly ASCII, some Latin-1 and UTF-8).
    pub charset: Option<CharsetChoice>,
    /// Plane of CT and MR series.
    pub plane: Plane,
    /// Slice Location behaviour.
    pub slice_location: SliceLocationMode,
    /// Whether to hash every pixel array into [`SynthSummary::manifest`]. By default, off: the
    /// hash is for interop checks and costs a pass over every pixel.
    pub pixel_manifest: bool,
}

impl SynthSpec {
    /// One patient, one study, one series of 16 images of 64×64 in explicit VR little endian.
    pub fn new(seed: u64, modality: Modality) -> SynthSpec {
        SynthSpec {
            seed,
            modalities: vec![modality],
            dx_intent: DxIntent::ForPresentation,
            patients: 1,
            studies_per_patient: 1,
            series_per_study: 1,
            images_per_series: 16,
            rows: 64,
            columns: 64,
            transfer_syntax: TransferSyntax::ExplicitVrLittleEndian,
            vendor: None,
            private_tags: true,
            preamble: true,
            file_meta: true,
            charset: None,
            plane: Plane::Axial,
            slice_location: SliceLocationMode::Consistent,
            pixel_manifest: false,
        }
    }

    /// How every file of this spec is written.
    pub fn write_options(&self) -> WriteOptions {
        WriteOptions {
            transfer_syntax: self.transfer_syntax,
            preamble: self.preamble,
            file_meta: self.file_meta,
        }
    }

    /// Number of files this spec writes.
    pub fn file_count(&self) -> u64 {
        // Saturating: four u32 counts can exceed u64 (65,536⁴ = 2⁶⁴ wrapped to 0 and passed a
        // size check).
        [
            self.studies_per_patient,
            self.series_per_study,
            self.images_per_series,
        ]
        .into_iter()
        .fold(u64::from(self.patients), |n, k| {
            n.saturating_mul(u64::from(k))
        })
    }
}

/// One line of the pixel manifest: what a decoder must find in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixelManifestEntry {
    /// Path relative to the output folder, `/`-separated.
    pub path: String,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// Transfer Syntax UID.
    pub transfer_syntax: String,
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub columns: u16,
    /// Frames.
    pub frames: u32,
    /// Samples per Pixel.
    pub samples_per_pixel: u16,
    /// Bits Allocated.
    pub bits_allocated: u16,
    /// Pixel Representation (0 unsigned, 1 signed).
    pub pixel_representation: u16,
    /// Photometric Interpretation.
    pub photometric: String,
    /// SHA-256 of the stored values as little-endian of their stored type, row-major, frame
    /// after frame.
    pub pixel_sha256: String,
}

/// What [`synthesize`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SynthSummary {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Patients.
    pub patients: u64,
    /// Studies.
    pub studies: u64,
    /// Series.
    pub series: u64,
    /// Files per modality.
    pub per_modality: BTreeMap<Modality, u64>,
    /// One entry per file, in path order.
    pub manifest: Vec<PixelManifestEntry>,
}

#[derive(Debug)]
struct PlannedSeries {
    patient: usize,
    study: usize,
    series: Series,
    dir: PathBuf,
}

/// Everything [`synthesize`] draws before its first image: patients, studies, series and the
/// folder of each. An image built from it ([`SynthPlan::build`]) depends only on the plan and the
/// image's number, so images can be built, and written, in any order and on any thread.
#[derive(Debug)]
pub struct SynthPlan {
    seed: u64,
    pixel_manifest: bool,
    transfer_syntax: TransferSyntax,
    patients: Vec<Patient>,
    studies: Vec<Study>,
    series: Vec<PlannedSeries>,
    /// (index into `series`, image number within it), in path order.
    images: Vec<(usize, u32)>,
}

impl SynthPlan {
    /// Draws every patient, study and series of `spec`; rejects a spec that would write nothing.
    pub fn new(spec: &SynthSpec) -> Result<SynthPlan, DicomError> {
        if spec.modalities.is_empty() {
            return Err(DicomError::InvalidSpec {
                reason: "no modality given".to_owned(),
            });
        }
        let counts = [
            spec.patients,
            spec.studies_per_patient,
            spec.series_per_study,
            spec.images_per_series,
        ];
        if spec.rows == 0 || spec.columns == 0 || counts.contains(&0) {
            return Err(DicomError::InvalidSpec {
                reason: "patients, studies, series, images per series, rows and columns must be \
                         at least 1"
                    .to_owned(),
            });
        }
        let seed = spec.seed;
        let mut patients = Vec::new();
        let mut studies = Vec::new();
        let mut plan = Vec::new();
        for p in 0..u64::from(spec.patients) {
            let charset = spec.charset.unwrap_or_else(|| {
                let roll = crate::rng::stream(seed, &format!("charset/{p}")).random_range(0..100);
                match roll {
                    0..70 => CharsetChoice::Ascii,
                    70..85 => CharsetChoice::Latin1,
                    _ => CharsetChoice::Utf8,
                }
            });
            let patient = Patient::draw(seed, p, charset);
            for s in 0..u64::from(spec.studies_per_patient) {
                let study_index = p * u64::from(spec.studies_per_patient) + s;
                let modality =
                    spec.modalities[(study_index % spec.modalities.len() as u64) as usize];
                let study = Study::draw(seed, &patient, study_index, modality);
                for k in 0..spec.series_per_study {
                    let series_index =
                        study_index * u64::from(spec.series_per_study) + u64::from(k);
                    let series_spec = SeriesSpec {
                        modality,
                        dx_intent: spec.dx_intent,
                        vendor: spec.vendor,
                        rows: spec.rows,
                        columns: spec.columns,
                        images: spec.images_per_series,
                        plane: spec.plane,
                        slice_location: spec.slice_location,
                        private_tags: spec.private_tags,
                    };
                    let series =
                        Series::draw(seed, &patient, &study, series_index, k + 1, &series_spec);
                    let dir = PathBuf::from(format!("P{:04}", p + 1))
                        .join(format!("ST{:02}", s + 1))
                        .join(format!("SE{:03}", k + 1));
                    plan.push(PlannedSeries {
                        patient: patients.len(),
                        study: studies.len(),
                        series,
                        dir,
                    });
                }
                studies.push(study);
            }
            patients.push(patient);
        }
        let images = plan
            .iter()
            .enumerate()
            .flat_map(|(i, p)| (0..p.series.geometry.count).map(move |k| (i, k)))
            .collect();
        Ok(SynthPlan {
            seed,
            pixel_manifest: spec.pixel_manifest,
            transfer_syntax: spec.transfer_syntax,
            patients,
            studies,
            series: plan,
            images,
        })
    }

    /// Number of images (files) in the plan.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether the plan has no image (never, for a plan [`SynthPlan::new`] accepted).
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Creates the folder of every series under `out`.
    pub fn create_folders(&self, out: &Path) -> Result<(), DicomError> {
        for planned in &self.series {
            let dir = out.join(&planned.dir);
            std::fs::create_dir_all(&dir).map_err(|source| DicomError::Io { path: dir, source })?;
        }
        Ok(())
    }

    /// The series image `image` belongs to.
    fn series_of(&self, image: usize) -> &Series {
        &self.series[self.images[image].0].series
    }

    /// Path of image `image` (0-based, in path order) relative to the output folder.
    pub fn relative_path(&self, image: usize) -> PathBuf {
        let (i, k) = self.images[image];
        self.series[i].dir.join(format!("IM{:05}.dcm", k + 1))
    }

    /// Builds image `image` (0-based, in path order): its data set and rendered pixels.
    pub fn build(&self, image: usize) -> Instance {
        let (i, k) = self.images[image];
        let planned = &self.series[i];
        build_instance(
            self.seed,
            &self.patients[planned.patient],
            &self.studies[planned.study],
            &planned.series,
            k,
        )
    }

    /// The manifest line of image `image` once built as `inst`, when the spec asked for one.
    fn manifest_entry(&self, image: usize, inst: &Instance) -> Option<PixelManifestEntry> {
        let series = self.series_of(image);
        let px = inst.pixels.as_ref().filter(|_| self.pixel_manifest)?;
        Some(PixelManifestEntry {
            path: self
                .relative_path(image)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            sop_class_uid: series.sop_class_uid().to_owned(),
            transfer_syntax: self.transfer_syntax.uid().to_owned(),
            rows: px.rows,
            columns: px.columns,
            frames: px.frames,
            samples_per_pixel: 1,
            bits_allocated: px.stored.bits_allocated,
            pixel_representation: px.stored.pixel_representation,
            photometric: crate::iod::photometric_name(px.stored.photometric).to_owned(),
            pixel_sha256: px.sha256_hex(),
        })
    }
}

/// Writes every file of `spec` under `out` and reports progress as (files done, total).
/// Output bytes depend only on `spec`, never on the thread count.
pub fn synthesize(
    spec: &SynthSpec,
    out: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SynthSummary, DicomError> {
    let plan = SynthPlan::new(spec)?;
    plan.create_folders(out)?;
    let total = plan.len() as u64;
    let done = AtomicU64::new(0);
    let opts = spec.write_options();
    let written = (0..plan.len())
        .into_par_iter()
        .map(|image| {
            let inst = plan.build(image);
            let bytes = write_file(&inst, &out.join(plan.relative_path(image)), &opts)?;
            let entry = plan.manifest_entry(image, &inst);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            Ok((plan.series_of(image).modality, bytes, entry))
        })
        .collect::<Result<Vec<_>, DicomError>>()?;

    let mut summary = SynthSummary {
        patients: plan.patients.len() as u64,
        studies: plan.studies.len() as u64,
        series: plan.series.len() as u64,
        ..SynthSummary::default()
    };
    for (modality, bytes, entry) in written {
        summary.files += 1;
        summary.bytes += bytes;
        *summary.per_modality.entry(modality).or_default() += 1;
        summary.manifest.extend(entry);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small spec: `modalities` in turn over `patients × studies × series` series of
    /// `images` images of `rows × columns`.
    fn small(seed: u64, modalities: &[Modality], counts: [u32; 4], size: [u16; 2]) -> SynthSpec {
        let mut spec = SynthSpec::new(seed, modalities[0]);
        spec.modalities = modalities.to_vec();
        [
            spec.patients,
            spec.studies_per_patient,
            spec.series_per_study,
            spec.images_per_series,
        ] = counts;
        [spec.rows, spec.columns] = size;
        spec
    }

    #[test]
    fn summary_counts_and_manifest_match_what_was_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut spec = small(3, &[Modality::Ct, Modality::Dx], [2, 2, 2, 2], [8, 8]);
        spec.pixel_manifest = true;
        let calls = AtomicU64::new(0);
        let summary = synthesize(&spec, dir.path(), &|done, total| {
            assert!(done <= total && total == 16);
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .expect("synthesis");
        assert_eq!(calls.load(Ordering::Relaxed), 16);
        assert_eq!(
            (
                summary.files,
                summary.patients,
                summary.studies,
                summary.series
            ),
            (16, 2, 4, 8)
        );
        assert_eq!(summary.per_modality.get(&Modality::Ct), Some(&8));
        assert_eq!(summary.per_modality.get(&Modality::Dx), Some(&8));
        assert_eq!(summary.manifest.len(), 16);
        let on_disk: u64 = summary
            .manifest
            .iter()
            .map(|e| {
                std::fs::metadata(dir.path().join(&e.path))
                    .expect("written")
                    .len()
            })
            .sum();
        assert_eq!(on_disk, summary.bytes);
        assert_eq!(summary.manifest[0].path, "P0001/ST01/SE001/IM00001.dcm");
    }

    #[test]
    fn images_built_from_the_plan_are_the_files_synthesize_writes() {
        // What the write-stage benchmark relies on: building from the plan in any order, then
        // writing, gives synthesize's files byte for byte.
        let spec = small(5, &[Modality::Mr, Modality::Cr], [1, 2, 1, 3], [16, 12]);
        let (whole, staged) = (
            tempfile::tempdir().expect("temp dir"),
            tempfile::tempdir().expect("temp dir"),
        );
        let summary = synthesize(&spec, whole.path(), &|_, _| {}).expect("synthesis");
        let plan = SynthPlan::new(&spec).expect("plan");
        assert_eq!(plan.len() as u64, summary.files);
        plan.create_folders(staged.path()).expect("folders");
        let opts = spec.write_options();
        for image in (0..plan.len()).rev() {
            let path = plan.relative_path(image);
            write_file(&plan.build(image), &staged.path().join(&path), &opts).expect("write");
            let read = |dir: &Path| std::fs::read(dir.join(&path)).expect("written");
            assert!(
                read(whole.path()) == read(staged.path()),
                "{}",
                path.display()
            );
        }
        assert_eq!(
            plan.relative_path(5),
            Path::new("P0001/ST02/SE001/IM00003.dcm")
        );
    }

    #[test]
    fn empty_spec_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut spec = SynthSpec::new(3, Modality::Ct);
        spec.modalities.clear();
        let err = synthesize(&spec, dir.path(), &|_, _| {}).expect_err("no modality");
        assert_eq!(err.to_string(), "invalid synthesis spec: no modality given");
        for counts in [[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]] {
            let spec = small(3, &[Modality::Ct], counts, [8, 8]);
            let err = synthesize(&spec, dir.path(), &|_, _| {}).expect_err("nothing to write");
            assert!(err.to_string().contains("at least 1"), "{counts:?}: {err}");
        }
        let spec = small(3, &[Modality::Ct], [1, 1, 1, 1], [0, 8]);
        assert!(SynthPlan::new(&spec).is_err());
    }
}
