//! The `deid` fixture generator: a multi-patient study set full of planted identifiers
//! (research/deid.md §4, the traps T1–T18 that tasks/deid/brief.md promises), written as DICOM
//! Part 10 files, and its answer key ([`Key`]).
//!
//! Everything is a pure function of (seed, params): identifiers come from a seeded
//! [`Mint`], UIDs from `worksample_dicom::uid::derive`, pixels from the
//! engine's per-instance streams, so the same seed gives the same bytes. The run has four steps:
//! 1. `people`: mint patients and staff, every identifying value catalogued;
//! 2. plan studies and build every object in memory: images through the engine
//!    (`images`), the IODs the engine lacks by hand (`objects`, `pet`, `emr`);
//! 3. assign paths (with identifiers in them under `phi_in_paths`) and register every catalogued
//!    identifier at every site it landed (values at any depth, file names, burned-in pixels);
//! 4. encode, fingerprint and write.
//!
//! Object kinds and where their traps sit are listed in the `images`, `objects`, `pet` and `emr`
//! modules.

mod catalog;
mod elements;
mod emr;
mod images;
mod objects;
mod people;
mod pet;

use std::collections::BTreeSet;
use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use worksample_dicom::model::{Modality, Patient, Study};
use worksample_dicom::pixel::PixelValues;
use worksample_dicom::rng::stream;
use worksample_dicom::write::{TransferSyntax, WriteOptions, to_bytes};
use worksample_dicom::{DicomError, Instance};
use worksample_task::{FolderSink, Sink, SinkError};

use crate::canary::{CanaryKind, Mint, MintError};
use crate::contract::text_band;
use crate::key::{Decoy, FileKey, Fingerprint, Key, PatientKey};
use crate::params::{CharsetTrap, ObjectKind, Params};
use crate::paths::{AttrPath, ElementKey};
use crate::planted::{PlantError, Registry};

use catalog::Catalog;
use people::{PatientPlan, People, Person};

/// Why a fixture set could not be generated. Every variant names what failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The profile parameters are not sane.
    #[error("deid params: {0}")]
    Params(String),
    /// A unique identifier could not be minted.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// An identifier could not be registered (two identifiers overlap).
    #[error("registering planted identifiers: {0}")]
    Plant(#[from] PlantError),
    /// A private element could not be placed.
    #[error("placing a private element in `{file}`: {source}")]
    Private {
        /// The file being built.
        file: String,
        /// Why.
        source: worksample_dicom::private::PrivateError,
    },
    /// Encoding a file failed.
    #[error("encoding `{file}`: {source}")]
    Encode {
        /// The file, relative to the output folder.
        file: String,
        /// Why.
        source: DicomError,
    },
    /// Two images of the set would share a pixel fingerprint.
    #[error("pixel fingerprint of `{file}` is not unique in the set")]
    Fingerprint {
        /// The second file with that fingerprint.
        file: String,
    },
    /// Storing a file failed.
    #[error(transparent)]
    Write(#[from] SinkError),
}

/// One study as planned: the engine's study with our identifiers in it.
#[derive(Debug, Clone)]
pub(crate) struct StudyPlan {
    engine: Study,
    patient: usize,
    referring: Person,
    /// Image objects and documents of this study, in build order.
    objects: Vec<ObjectKind>,
}

/// One object as built, before it has a path.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    kind: ObjectKind,
    patient: usize,
    study: usize,
    /// Folder name of the series (after the patient and study folders).
    series_folder: String,
    instance_number: u32,
    instance: Instance,
    transfer_syntax: TransferSyntax,
    /// Identifiers burned into the pixels' text band.
    burned: Vec<String>,
    /// For objects without pixels: the kept, unique top-level attribute that fingerprints it.
    fingerprint: Option<Tag>,
    /// Decoys planted in this object: (tag, why).
    decoys: Vec<(Tag, &'static str)>,
}

/// Shared state of one generation run.
pub(crate) struct Run<'a> {
    seed: u64,
    params: &'a Params,
    patients: Vec<PatientPlan>,
    engine_patients: Vec<Patient>,
    studies: Vec<StudyPlan>,
    built: Vec<Built>,
    people: People<'a>,
    /// Counter for the fingerprint values of objects without pixels.
    document_counter: u32,
    /// Series drawn so far over the run (keys the engine's series streams and UIDs).
    series_counter: u64,
}

/// Generates the fixture set of `seed` under `params` into the folder `out` (created if
/// missing) and returns its answer key.
pub fn generate(seed: u64, params: &Params, out: &Path) -> Result<Key, GenerateError> {
    generate_into(seed, params, &FolderSink::new(out))
}

/// Generates the fixture set of `seed` under `params` into `out` and returns its answer key.
pub fn generate_into(seed: u64, params: &Params, out: &dyn Sink) -> Result<Key, GenerateError> {
    params.validate().map_err(GenerateError::Params)?;
    let mut catalog = Catalog::default();
    let people = People::new(
        Mint::new(stream(seed, "deid/canary")),
        &mut catalog,
        stream(seed, "deid/people"),
    );
    let mut run = Run {
        seed,
        params,
        patients: Vec::new(),
        engine_patients: Vec::new(),
        studies: Vec::new(),
        built: Vec::new(),
        people,
        document_counter: 0,
        series_counter: 0,
    };
    run.plan()?;
    run.build_all()?;
    let built = std::mem::take(&mut run.built);
    let patients = std::mem::take(&mut run.patients);
    let studies = std::mem::take(&mut run.studies);
    drop(run);
    catalog.add_original_uids(built.iter().map(|b| &b.instance.dataset));
    finish(params, &catalog, patients, &studies, built, out)
}

impl Run<'_> {
    /// Mints the patients and plans their studies and the objects in each.
    fn plan(&mut self) -> Result<(), GenerateError> {
        let p = self.params;
        self.patients = self.people.patients(
            p.patients,
            p.shared_name,
            p.charsets.contains(&CharsetTrap::Latin1),
            p.charsets.contains(&CharsetTrap::Iso2022Ir87),
        )?;
        let has = |k: ObjectKind| p.objects.contains(&k);
        // Patient 0's first study holds the referenced images and every document; the second
        // study (when asked) the PET and the radiograph; every other patient one image series.
        let first: Vec<ObjectKind> = [
            ObjectKind::Ct,
            ObjectKind::Mr,
            ObjectKind::EnhancedMr,
            ObjectKind::ScBurnedIn,
            ObjectKind::Sr,
            ObjectKind::Kos,
            ObjectKind::Gsps,
            ObjectKind::Rtstruct,
        ]
        .into_iter()
        .filter(|k| has(*k))
        .collect();
        let second: Vec<ObjectKind> = [ObjectKind::Pet, ObjectKind::Dx]
            .into_iter()
            .filter(|k| has(*k))
            .collect();
        let image_kinds: Vec<ObjectKind> = [
            ObjectKind::Ct,
            ObjectKind::Dx,
            ObjectKind::Mr,
            ObjectKind::Pet,
        ]
        .into_iter()
        .filter(|k| has(*k))
        .collect();
        for (pi, plan) in self.patients.iter().enumerate() {
            let mut engine = Patient::draw(self.seed, pi as u64, plan.charset.engine());
            engine.identity.name = worksample_dicom::identity::PersonName {
                family: plan.name.family.clone(),
                given: plan.name.given.clone(),
                prefix: String::new(),
            };
            engine.identity.id = plan.id.clone();
            engine.identity.birth_date = plan.birth;
            self.engine_patients.push(engine);
        }
        for pi in 0..self.patients.len() {
            let mut lists: Vec<Vec<ObjectKind>> = Vec::new();
            if pi == 0 {
                if p.second_study && !second.is_empty() {
                    lists.push(first.clone());
                    lists.push(second.clone());
                } else {
                    lists.push(first.iter().chain(&second).copied().collect());
                }
            } else if let Some(kind) = image_kinds.get(pi % image_kinds.len().max(1)) {
                lists.push(vec![*kind]);
            } else if let Some(kind) = first.first() {
                lists.push(vec![*kind]);
            }
            for objects in lists {
                self.add_study(pi, objects)?;
            }
        }
        Ok(())
    }

    fn add_study(&mut self, patient: usize, objects: Vec<ObjectKind>) -> Result<(), GenerateError> {
        let index = self.studies.len() as u64;
        let modality = Modality::Ct;
        let mut engine = Study::draw(self.seed, &self.engine_patients[patient], index, modality);
        // Two studies of one patient lie on different days (the interval is graded).
        if let Some(prev) = self.studies.iter().rev().find(|s| s.patient == patient) {
            if prev.engine.date == engine.date {
                engine.date = engine.date.add_days(-41);
            }
        }
        engine.id = self.people.draw(CanaryKind::StudyId)?;
        engine.accession_number = self.people.draw(CanaryKind::Accession)?;
        engine.institution.name = self.people.draw(CanaryKind::Institution)?;
        let date = self.people.text_date_in(index as usize + 1);
        let base =
            ["CT CHEST", "MRI BRAIN", "PET CT WHOLE BODY", "XR CHEST PA"][index as usize % 4];
        engine.description = format!("{base} {date} for {}", self.patients[patient].name.prose());
        let referring = self.people.staff()?;
        engine.referring_physician = worksample_dicom::identity::PersonName {
            family: referring.family.clone(),
            given: referring.given.clone(),
            prefix: String::new(),
        };
        self.studies.push(StudyPlan {
            engine,
            patient,
            referring,
            objects,
        });
        Ok(())
    }

    fn build_all(&mut self) -> Result<(), GenerateError> {
        for si in 0..self.studies.len() {
            let objects = self.studies[si].objects.clone();
            for kind in objects {
                match kind {
                    ObjectKind::Ct => self.image_series(si, kind, Modality::Ct)?,
                    ObjectKind::Mr => self.image_series(si, kind, Modality::Mr)?,
                    ObjectKind::Dx => self.image_series(si, kind, Modality::Dx)?,
                    ObjectKind::ScBurnedIn => self.image_series(si, kind, Modality::Sc)?,
                    ObjectKind::Pet => self.pet_series(si)?,
                    ObjectKind::EnhancedMr => self.enhanced_mr(si)?,
                    ObjectKind::Sr => self.sr(si)?,
                    ObjectKind::Kos => self.kos(si)?,
                    ObjectKind::Gsps => self.gsps(si)?,
                    ObjectKind::Rtstruct => self.rtstruct(si)?,
                }
            }
        }
        Ok(())
    }

    /// The next unique fingerprint value for an object without pixels.
    fn next_document_number(&mut self) -> u32 {
        self.document_counter += 1;
        9000 + self.document_counter
    }

    /// The global index of the next series.
    fn next_series_index(&mut self) -> u64 {
        self.series_counter += 1;
        self.series_counter
    }

    /// Series number for the next series of study `si`.
    fn next_series_number(&self, si: usize) -> u32 {
        let mut numbers: BTreeSet<(usize, String)> = BTreeSet::new();
        for b in &self.built {
            if b.study == si {
                numbers.insert((b.study, b.series_folder.clone()));
            }
        }
        numbers.len() as u32 + 1
    }
}

/// Registers every identifier at every site, encodes, fingerprints and writes the files, and
/// assembles the key.
fn finish(
    params: &Params,
    catalog: &Catalog,
    patients: Vec<PatientPlan>,
    studies: &[StudyPlan],
    built: Vec<Built>,
    out: &dyn Sink,
) -> Result<Key, GenerateError> {
    let mut registry = Registry::new();
    let mut paths = Vec::with_capacity(built.len());
    for b in &built {
        let p = &patients[b.patient];
        let s = &studies[b.study].engine;
        let rel = if params.phi_in_paths {
            format!(
                "{}_{}_{}/{}_{}/{}/{:03}.dcm",
                p.name.family,
                p.name.given,
                p.id,
                s.accession_number,
                p.birth.to_da(),
                b.series_folder,
                b.instance_number
            )
        } else {
            let study_in_patient = studies[..b.study]
                .iter()
                .filter(|x| x.patient == b.patient)
                .count();
            let folder: String = b.series_folder.chars().take_while(|c| *c != ' ').collect();
            format!(
                "P{:02}/S{:02}/{folder}/{:03}.dcm",
                b.patient + 1,
                study_in_patient + 1,
                b.instance_number
            )
        };
        paths.push(rel);
    }

    // Encoding, fingerprinting and the scan of every element's text for planted identifiers
    // only read the built objects, so they run over both cores; planting then goes in file
    // order, so the registry is the same whatever the thread count.
    let (encoded, found): (Vec<(Vec<u8>, Fingerprint)>, Vec<_>) = built
        .par_iter()
        .zip(&paths)
        .map(|(b, rel)| {
            let bytes =
                to_bytes(&b.instance, &WriteOptions::new(b.transfer_syntax)).map_err(|source| {
                    GenerateError::Encode {
                        file: rel.clone(),
                        source,
                    }
                })?;
            Ok((
                (bytes, fingerprint(b)),
                catalog.values_in(&b.instance.dataset),
            ))
        })
        .collect::<Result<Vec<_>, GenerateError>>()?
        .into_iter()
        .unzip();
    for ((b, rel), found) in built.iter().zip(&paths).zip(found) {
        Catalog::plant_values(&mut registry, rel, found)?;
        catalog.register_path(&mut registry, rel)?;
        for value in &b.burned {
            catalog.register_pixels(&mut registry, rel, value)?;
        }
    }

    let mut seen = BTreeSet::new();
    for ((_, fp), rel) in encoded.iter().zip(&paths) {
        if !seen.insert(format!("{fp:?}")) {
            return Err(GenerateError::Fingerprint { file: rel.clone() });
        }
    }
    encoded
        .par_iter()
        .zip(&paths)
        .try_for_each(|((bytes, _), rel)| out.put(rel, bytes))?;

    let mut files: Vec<FileKey> = built
        .iter()
        .zip(&paths)
        .zip(&encoded)
        .map(|((b, rel), (_, fp))| FileKey {
            path: rel.clone(),
            kind: b.kind,
            patient: b.patient,
            sop_class_uid: elements::string(&b.instance.dataset, tags::SOP_CLASS_UID),
            sop_instance_uid: elements::string(&b.instance.dataset, tags::SOP_INSTANCE_UID),
            fingerprint: fp.clone(),
            burned_in: !b.burned.is_empty(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut decoys: Vec<Decoy> = built
        .iter()
        .zip(&paths)
        .flat_map(|(b, rel)| {
            b.decoys.iter().map(move |(tag, why)| Decoy {
                file: rel.clone(),
                path: AttrPath::top(ElementKey::Tag(*tag)),
                value: elements::string(&b.instance.dataset, *tag),
                why: (*why).to_owned(),
            })
        })
        .collect();
    decoys.sort_by(|a, b| (&a.file, &a.path).cmp(&(&b.file, &b.path)));

    let patient_keys = patients
        .iter()
        .enumerate()
        .map(|(pi, p)| {
            let own: Vec<&StudyPlan> = studies.iter().filter(|s| s.patient == pi).collect();
            PatientKey {
                patient_id: p.id.clone(),
                name: p.name.pn(),
                other_ids: p.other_ids.clone(),
                birth_date: p.birth.to_da(),
                study_uids: own.iter().map(|s| s.engine.uid.clone()).collect(),
                accession_numbers: own
                    .iter()
                    .map(|s| s.engine.accession_number.clone())
                    .collect(),
            }
        })
        .collect();
    Ok(Key {
        registry,
        patients: patient_keys,
        files,
        decoys,
    })
}

/// The fingerprint of a built object (key.rs [`Fingerprint`]): for images, SHA-256 of every row
/// from ⌈Rows / 8⌉ on, of every frame; for documents, the fingerprint attribute.
fn fingerprint(b: &Built) -> Fingerprint {
    match (&b.instance.pixels, b.fingerprint) {
        (Some(px), _) => {
            let bytes = px.le_bytes();
            let per_sample = match px.values {
                PixelValues::U8(_) => 1,
                PixelValues::U16(_) | PixelValues::I16(_) => 2,
            };
            let row_len = usize::from(px.columns) * per_sample;
            let frame_len = row_len * usize::from(px.rows);
            let skip = usize::from(text_band(px.rows).end) * row_len;
            let mut hasher = Sha256::new();
            for frame in bytes.chunks(frame_len.max(1)) {
                hasher.update(frame.get(skip..).unwrap_or(&[]));
            }
            Fingerprint::PixelRows {
                sha256: hasher.finalize().into(),
            }
        }
        (None, Some(tag)) => Fingerprint::Attribute {
            path: AttrPath::top(ElementKey::Tag(tag)),
            value: elements::string(&b.instance.dataset, tag),
        },
        (None, None) => Fingerprint::Attribute {
            path: AttrPath::top(ElementKey::Tag(tags::INSTANCE_NUMBER)),
            value: elements::string(&b.instance.dataset, tags::INSTANCE_NUMBER),
        },
    }
}

#[cfg(test)]
mod tests {
    use worksample_dicom::pixel::{Photometric, PixelData, StoredValues};

    use super::*;

    fn image(band_value: u8, below_value: u8) -> Built {
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
            photometric: Photometric::Monochrome2,
        };
        let (rows, columns) = (16u16, 4u16);
        let band = usize::from(text_band(rows).end) * usize::from(columns);
        let mut values = vec![below_value; usize::from(rows) * usize::from(columns)];
        values[..band].fill(band_value);
        Built {
            kind: ObjectKind::ScBurnedIn,
            patient: 0,
            study: 0,
            series_folder: "01_SC".into(),
            instance_number: 1,
            instance: Instance {
                dataset: dicom_object::InMemDicomObject::new_empty(),
                pixels: Some(PixelData {
                    rows,
                    columns,
                    frames: 1,
                    values: PixelValues::U8(values),
                    stored,
                }),
            },
            transfer_syntax: TransferSyntax::ExplicitVrLittleEndian,
            burned: Vec::new(),
            fingerprint: None,
            decoys: Vec::new(),
        }
    }

    #[test]
    fn pixel_fingerprint_ignores_the_band_and_sees_the_rest() {
        // Blanking the band (what a correct solution does) keeps the fingerprint.
        assert_eq!(fingerprint(&image(255, 7)), fingerprint(&image(0, 7)));
        assert_ne!(fingerprint(&image(0, 7)), fingerprint(&image(0, 8)));
    }

    #[test]
    fn bad_params_are_refused_with_the_key_named() {
        let data = worksample_task::TaskData::from_embedded(crate::TASK_ID, &crate::EMBEDDED)
            .expect("task data");
        let mut params: Params = data
            .profile(Some("standard"))
            .expect("profile")
            .parse()
            .expect("params");
        params.rows = 8;
        let out = std::env::temp_dir().join("deid-gen-never-written");
        let err = generate(1, &params, &out).expect_err("rows too small");
        assert!(err.to_string().contains("rows = 8"), "{err}");
        assert!(!out.exists());
    }
}
