//! The `deid` generator against its promises (tasks/deid/brief.md, research/deid.md §4): every
//! object kind, the patient and study structure, references that resolve, the traps, a leak scan
//! of the written files that finds every planted identifier exactly at its registered sites, and
//! determinism.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dicom_core::Tag;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use sha2::{Digest, Sha256};
use worksample_deid::contract::text_band;
use worksample_deid::generate::generate;
use worksample_deid::key::{Fingerprint, Key};
use worksample_deid::leak::{LeakSite, scan_bytes, scan_path, scan_values};
use worksample_deid::params::{ObjectKind, Params};
use worksample_deid::paths::{AttrPath, walk};
use worksample_deid::planted::Site;
use worksample_deid::profile::{Action, AttributeType, task_action};
use worksample_deid::{EMBEDDED, TASK_ID};
use worksample_task::TaskData;

fn params(profile: &str) -> Params {
    let data = TaskData::from_embedded(TASK_ID, &EMBEDDED).expect("task data");
    data.profile(Some(profile))
        .expect("profile")
        .parse()
        .expect("params")
}

/// A fresh scratch folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("deid-gen-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &Path, rel: &str) -> InMemDicomObject {
    OpenFileOptions::new()
        .open_file(dir.join(rel))
        .unwrap_or_else(|e| panic!("{rel} opens: {e}"))
        .into_inner()
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
        .unwrap_or_default()
}

fn digest(dir: &Path) -> [u8; 32] {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(
            f.strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).expect("readable"));
    }
    h.finalize().into()
}

fn generated(profile: &str, seed: u64) -> (Scratch, Key) {
    let scratch = Scratch::new(&format!("{profile}-{seed}"));
    let key = generate(seed, &params(profile), &scratch.0).expect("generates");
    (scratch, key)
}

#[test]
fn every_identifier_is_found_exactly_at_its_registered_sites() {
    for (profile, seed) in [("standard", 1), ("hard", 2)] {
        let (dir, key) = generated(profile, seed);
        let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
        for p in key.registry.iter() {
            for site in &p.sites {
                let entry = match site {
                    Site::Value { file, path } => format!("{file} value {path}"),
                    Site::FileName { file } => format!("{file} path"),
                    // Pixel text is graded by the band, not found by search.
                    Site::Pixels { .. } => continue,
                };
                expected.insert((p.value.clone(), entry));
            }
        }
        let mut found: BTreeSet<(String, String)> = BTreeSet::new();
        let mut byte_hits: BTreeSet<(String, String)> = BTreeSet::new();
        for f in &key.files {
            let obj = open(&dir.0, &f.path);
            for leak in scan_values(&f.path, [], &obj, &key.registry) {
                let LeakSite::Value(path) = leak.site else {
                    unreachable!("value scan")
                };
                found.insert((leak.value, format!("{} value {path}", f.path)));
            }
            for leak in scan_path(&f.path, &key.registry) {
                found.insert((leak.value, format!("{} path", f.path)));
            }
            let bytes = std::fs::read(dir.0.join(&f.path)).expect("readable");
            for leak in scan_bytes(&f.path, &bytes, &key.registry) {
                byte_hits.insert((leak.value, f.path.clone()));
            }
        }
        // Nothing is found where it was not registered.
        let unregistered: Vec<_> = found.difference(&expected).collect();
        assert!(
            unregistered.is_empty(),
            "{profile}: unregistered hits {unregistered:?}"
        );
        // Every registered value site is found by the value scan, or, where the value cannot be
        // decoded as text (a private element read back as UN from Implicit VR, the Japanese
        // name under a code-extension character set), by the byte scan of that file.
        for (value, entry) in expected.difference(&found) {
            let file = entry.split(" value ").next().expect("file");
            assert!(
                entry.contains(" value ") && byte_hits.contains(&(value.clone(), file.to_owned())),
                "{profile}: {value} not found at {entry}"
            );
        }
        // Every byte hit lies in a file where the identifier is registered as a value.
        for (value, file) in &byte_hits {
            let planted = key.registry.get(value).expect("registered");
            assert!(
                planted
                    .sites
                    .iter()
                    .any(|s| matches!(s, Site::Value { file: f, .. } if f == file)),
                "{profile}: {value} in the bytes of {file} but not registered there"
            );
        }
    }
}

#[test]
fn every_object_kind_patient_and_study_is_there() {
    for profile in ["standard", "hard"] {
        let p = params(profile);
        let (dir, key) = generated(profile, 3);
        let kinds: BTreeSet<ObjectKind> = key.files.iter().map(|f| f.kind).collect();
        let wanted: BTreeSet<ObjectKind> = p.objects.iter().copied().collect();
        assert_eq!(kinds, wanted, "{profile}");
        assert_eq!(key.patients.len(), p.patients as usize);
        let ids: BTreeSet<&str> = key.patients.iter().map(|k| k.patient_id.as_str()).collect();
        assert_eq!(ids.len(), key.patients.len(), "patient IDs differ");
        let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
        for k in &key.patients {
            *by_name.entry(k.name.as_str()).or_default() += 1;
        }
        assert!(
            by_name.values().any(|n| *n == 2),
            "{profile}: two patients share a name"
        );
        let two = key
            .patients
            .iter()
            .find(|k| k.study_uids.len() == 2)
            .expect("a patient with two studies");
        assert_ne!(two.accession_numbers[0], two.accession_numbers[1]);
        assert!(
            key.patients
                .iter()
                .all(|k| k.other_ids.len() == 2 && !k.birth_date.is_empty())
        );
        // Every file is Part 10 with consistent file meta, and its patient is the key's.
        for f in &key.files {
            let file = OpenFileOptions::new()
                .open_file(dir.0.join(&f.path))
                .expect("opens");
            assert_eq!(
                file.meta().media_storage_sop_instance_uid(),
                f.sop_instance_uid
            );
            assert_eq!(file.meta().media_storage_sop_class_uid(), f.sop_class_uid);
            assert_eq!(
                text(&file, tags::PATIENT_ID),
                key.patients[f.patient].patient_id
            );
        }
        let on_disk = walkdir::WalkDir::new(&dir.0)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count();
        assert_eq!(
            on_disk,
            key.files.len(),
            "{profile}: one file per key entry"
        );
        let sizes = (key.files.len(), profile);
        assert!((15..=60).contains(&sizes.0), "{sizes:?}");
    }
}

#[test]
fn references_resolve_and_a_frame_of_reference_is_shared() {
    for profile in ["standard", "hard"] {
        let (dir, key) = generated(profile, 4);
        let mut instances = BTreeSet::new();
        let mut series = BTreeSet::new();
        let mut studies = BTreeSet::new();
        let mut frames: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        let objects: Vec<(String, InMemDicomObject)> = key
            .files
            .iter()
            .map(|f| (f.path.clone(), open(&dir.0, &f.path)))
            .collect();
        for (_, obj) in &objects {
            instances.insert(text(obj, tags::SOP_INSTANCE_UID));
            series.insert(text(obj, tags::SERIES_INSTANCE_UID));
            studies.insert(text(obj, tags::STUDY_INSTANCE_UID));
            let f = text(obj, tags::FRAME_OF_REFERENCE_UID);
            if !f.is_empty() {
                frames
                    .entry((text(obj, tags::STUDY_INSTANCE_UID), f))
                    .or_default()
                    .insert(text(obj, tags::SERIES_INSTANCE_UID));
            }
        }
        assert!(
            frames.values().any(|s| s.len() >= 2),
            "{profile}: no shared frame of reference"
        );
        let mut kinds_referencing = BTreeSet::new();
        let mut nested = 0;
        for ((path, obj), f) in objects.iter().zip(&key.files) {
            walk(obj, &mut |at: &AttrPath, elem| {
                let value = || {
                    elem.to_str()
                        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
                        .unwrap_or_default()
                };
                if elem.tag() == tags::REFERENCED_SOP_INSTANCE_UID {
                    let v = value();
                    assert!(
                        instances.contains(&v) || studies.contains(&v),
                        "{path}: {at} = {v} dangles"
                    );
                    kinds_referencing.insert(f.kind);
                    nested += usize::from(at.depth() >= 2);
                }
                if elem.tag() == tags::SERIES_INSTANCE_UID && at.depth() > 0 {
                    assert!(series.contains(&value()), "{path}: {at} dangles");
                }
                if elem.tag() == tags::STUDY_INSTANCE_UID && at.depth() > 0 {
                    assert!(studies.contains(&value()), "{path}: {at} dangles");
                }
            });
        }
        for kind in [
            ObjectKind::Ct,
            ObjectKind::Mr,
            ObjectKind::ScBurnedIn,
            ObjectKind::Sr,
            ObjectKind::Kos,
            ObjectKind::Gsps,
        ] {
            assert!(
                kinds_referencing.contains(&kind),
                "{profile}: {kind:?} references nothing"
            );
        }
        assert!(nested > 0);
        if profile == "hard" {
            assert!(kinds_referencing.contains(&ObjectKind::Rtstruct));
            assert!(kinds_referencing.contains(&ObjectKind::EnhancedMr));
        }
    }
}

#[test]
fn traps_are_planted_where_the_brief_says() {
    for profile in ["standard", "hard"] {
        let p = params(profile);
        let (dir, key) = generated(profile, 5);
        let mut seen = BTreeSet::new();
        for f in &key.files {
            let obj = open(&dir.0, &f.path);
            let ts = OpenFileOptions::new()
                .open_file(dir.0.join(&f.path))
                .expect("opens")
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_owned();
            if ts == "1.2.840.10008.1.2" {
                seen.insert("implicit vr");
            }
            if obj.get(tags::OTHER_PATIENT_I_DS_SEQUENCE).is_some() {
                seen.insert("other patient ids sequence");
            }
            if obj.get(Tag(0x6000, 0x3000)).is_some() && obj.get(Tag(0x6000, 0x0022)).is_some() {
                seen.insert("overlay");
            }
            if obj.get(Tag(0x5000, 0x3000)).is_some() {
                seen.insert("curve");
            }
            if text(&obj, Tag(0x0008, 0x0005)).contains("ISO 2022 IR 87") {
                seen.insert("iso 2022 ir 87");
            }
            if text(&obj, Tag(0x0008, 0x0005)) == "ISO_IR 100" {
                seen.insert("latin-1");
            }
            if text(&obj, Tag(0x0019, 0x0011)) == "SIEMENS MR HEADER" {
                seen.insert("relocated siemens block");
            }
            match f.kind {
                ObjectKind::Pet => {
                    assert!(
                        !text(&obj, tags::SERIES_DATE).is_empty()
                            && !text(&obj, tags::SERIES_TIME).is_empty()
                    );
                    seen.insert("pet");
                }
                ObjectKind::EnhancedMr => {
                    assert!(!text(&obj, tags::DEVICE_SERIAL_NUMBER).is_empty());
                    seen.insert("enhanced mr serial");
                }
                _ => {}
            }
            let mut deep = false;
            walk(&obj, &mut |at, elem| {
                if at.depth() >= 3
                    && key.registry.iter().any(|pl| {
                        elem.to_str()
                            .is_ok_and(|s| s.to_lowercase().contains(&pl.value.to_lowercase()))
                    })
                {
                    deep = true;
                }
                if at.depth() >= 1 && at.leaf().group() % 2 == 1 && elem.tag().element() >= 0x1000 {
                    seen.insert("private in sequence");
                }
            });
            if deep {
                seen.insert("identifier three deep");
            }
            // Burned-in text: only where the key says, and the band differs from a blank band.
            assert_eq!(
                text(&obj, tags::BURNED_IN_ANNOTATION) == "YES",
                f.burned_in,
                "{}",
                f.path
            );
            if let (true, Fingerprint::PixelRows { .. }) = (f.burned_in, &f.fingerprint) {
                let rows = obj
                    .get(tags::ROWS)
                    .and_then(|e| e.to_int::<u16>().ok())
                    .expect("rows");
                let columns = usize::from(
                    obj.get(tags::COLUMNS)
                        .and_then(|e| e.to_int::<u16>().ok())
                        .expect("columns"),
                );
                let Some(Value::Primitive(px)) = obj.get(tags::PIXEL_DATA).map(|e| e.value())
                else {
                    panic!("pixels")
                };
                let bytes = px.to_bytes();
                let band = usize::from(text_band(rows).end) * columns;
                let max = bytes[..band].iter().copied().max().unwrap_or(0);
                assert_eq!(max, 255, "{}: text in the band", f.path);
                seen.insert("burned in");
            }
        }
        let mut wanted = vec![
            "other patient ids sequence",
            "overlay",
            "latin-1",
            "pet",
            "burned in",
            "identifier three deep",
            "private in sequence",
        ];
        if p.curve_data {
            wanted.push("curve");
        }
        if p.implicit_vr_series {
            wanted.push("implicit vr");
        }
        if p.relocated_private_blocks {
            wanted.push("relocated siemens block");
        }
        if profile == "hard" {
            wanted.extend(["iso 2022 ir 87", "enhanced mr serial"]);
        }
        for w in wanted {
            assert!(seen.contains(w), "{profile}: {w} not planted");
        }
    }
}

#[test]
fn decoys_and_fingerprints_survive_the_profile() {
    let (dir, key) = generated("hard", 6);
    assert!(!key.decoys.is_empty());
    for d in &key.decoys {
        let obj = open(&dir.0, &d.file);
        let found = d
            .path
            .find(&obj)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_owned());
        assert_eq!(
            found.as_deref(),
            Some(d.value.trim()),
            "{} {}",
            d.file,
            d.path
        );
        let tag = match d.path.leaf() {
            worksample_deid::paths::ElementKey::Tag(t) => *t,
            other => panic!("decoy at a private key {other}"),
        };
        // Contrast/Bolus Agent is a Clean Descriptors row: a clean value is kept as it is.
        let action = task_action(tag, AttributeType::Type3);
        assert!(
            matches!(action, Action::Keep | Action::Clean),
            "{tag}: {action:?}"
        );
        assert!(
            key.registry
                .iter()
                .all(|p| !d.value.to_lowercase().contains(&p.value.to_lowercase()))
        );
    }
    let prints: BTreeSet<String> = key
        .files
        .iter()
        .map(|f| format!("{:?}", f.fingerprint))
        .collect();
    assert_eq!(prints.len(), key.files.len(), "fingerprints are unique");
    for f in &key.files {
        if let Fingerprint::Attribute { path, value } = &f.fingerprint {
            let obj = open(&dir.0, &f.path);
            assert_eq!(
                path.find(&obj)
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim().to_owned())
                    .as_deref(),
                Some(value.as_str())
            );
        }
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let p = params("standard");
    let a = Scratch::new("det-a");
    let b = Scratch::new("det-b");
    let c = Scratch::new("det-c");
    let ka = generate(11, &p, &a.0).expect("a");
    let kb = generate(11, &p, &b.0).expect("b");
    generate(12, &p, &c.0).expect("c");
    assert_eq!(digest(&a.0), digest(&b.0));
    assert_eq!(ka, kb);
    assert_ne!(digest(&a.0), digest(&c.0));
}

#[test]
fn without_phi_in_paths_no_identifier_is_in_a_path() {
    let mut p = params("standard");
    p.phi_in_paths = false;
    let dir = Scratch::new("no-phi");
    let key = generate(8, &p, &dir.0).expect("generates");
    for f in &key.files {
        assert!(scan_path(&f.path, &key.registry).is_empty(), "{}", f.path);
    }
    assert!(
        key.registry
            .iter()
            .all(|pl| pl.sites.iter().all(|s| !matches!(s, Site::FileName { .. })))
    );
    let (_, with) = generated("standard", 8);
    let names = with
        .registry
        .iter()
        .filter(|pl| pl.sites.iter().any(|s| matches!(s, Site::FileName { .. })))
        .count();
    assert!(
        names >= 4,
        "names, IDs, accessions and birth dates in paths: {names}"
    );
}
