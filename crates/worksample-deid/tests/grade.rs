//! The grader on a hand-built fixture (two patients sharing a name: a three-image CT series with
//! private blocks, nested identifiers and a reference, and a burned-in secondary capture) and a
//! hand-made answer key, against a small correct de-identifier and mutants of it, each with one
//! realistic flaw that must cost points on exactly the criteria it breaks.

#[path = "support/score.rs"]
mod score;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use worksample_deid::grade::{grade_submission, pixel_fingerprint};
use worksample_deid::key::{Decoy, FileKey, Fingerprint, Key, PatientKey};
use worksample_deid::params::ObjectKind;
use worksample_deid::paths::{AttrPath, ElementKey};
use worksample_deid::planted::{IdentifierClass, Registry, Site};
use worksample_deid::{CRITERIA, EMBEDDED, TASK_ID, markers};
use worksample_task::rubric::Grade;
use worksample_task::{Figures, NoProgress, TaskData};

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const SC: &str = "1.2.840.10008.5.1.4.1.1.7";
const RT_REFERENCED_STUDY_SEQUENCE: Tag = Tag(0x3006, 0x0012);
const UID_ROOT: &str = "1.2.826.0.1.3680043.10.99.";

fn uid(n: u32) -> String {
    format!("{UID_ROOT}{n:04}")
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

struct Patient {
    id: &'static str,
    birth: &'static str,
    accession: &'static str,
    study: String,
}

const NAME: &str = "QXVORAK^ZELDINA";

/// One input instance, with pixels.
fn image(
    p: &Patient,
    class: &str,
    sop: &str,
    series: &str,
    number: u32,
    seed: u16,
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, class);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop);
    put(&mut o, tags::STUDY_DATE, VR::DA, "20190619");
    put(&mut o, tags::CONTENT_DATE, VR::DA, "20190619");
    put(&mut o, tags::STUDY_TIME, VR::TM, "101500");
    put(&mut o, tags::ACCESSION_NUMBER, VR::SH, p.accession);
    put(
        &mut o,
        tags::MODALITY,
        VR::CS,
        if class == CT { "CT" } else { "OT" },
    );
    put(&mut o, tags::MANUFACTURER, VR::LO, "ACME");
    put(&mut o, tags::INSTITUTION_NAME, VR::LO, "HOSPINSTA1");
    put(
        &mut o,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        "DRMORBIUS^EDWIN",
    );
    put(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        "CT CHEST 2019-06-19 for Zeldina Qxvorak",
    );
    put(&mut o, tags::PATIENT_NAME, VR::PN, NAME);
    put(&mut o, tags::PATIENT_ID, VR::LO, p.id);
    put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, p.birth);
    put(&mut o, tags::PATIENT_SEX, VR::CS, "F");
    put(&mut o, tags::PATIENT_AGE, VR::AS, "048Y");
    put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
    put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &p.study);
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, series);
    put(&mut o, tags::STUDY_ID, VR::SH, "STUDYID77");
    put(&mut o, tags::SERIES_NUMBER, VR::IS, "3");
    put(&mut o, tags::INSTANCE_NUMBER, VR::IS, &number.to_string());
    o.put(DataElement::new(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    ));
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    o.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(16u16),
    ));
    o.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(16u16),
    ));
    o.put(DataElement::new(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16u16),
    ));
    o.put(DataElement::new(
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(16u16),
    ));
    o.put(DataElement::new(
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(15u16),
    ));
    o.put(DataElement::new(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    ));
    let pixels: Vec<u16> = (0..256u16)
        .map(|i| seed.wrapping_mul(977).wrapping_add(i * 3 + 1))
        .collect();
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    o
}

struct Fixture {
    key: Key,
    dir: tempfile_dir::Dir,
}

/// A tiny temporary folder helper (std only).
mod tempfile_dir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    static NEXT: AtomicU32 = AtomicU32::new(0);

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(label: &str) -> Dir {
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let p = std::env::temp_dir().join(format!(
                "worksample-deid-grade-{}-{label}-{n}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("temp dir");
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn write(obj: &InMemDicomObject, path: &Path, meta_sop: Option<&str>) {
    let text = |t: Tag| {
        obj.element(t)
            .expect("has uid")
            .to_str()
            .expect("string")
            .trim_end_matches('\0')
            .to_owned()
    };
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(text(tags::SOP_CLASS_UID))
        .media_storage_sop_instance_uid(
            meta_sop.map_or_else(|| text(tags::SOP_INSTANCE_UID), str::to_owned),
        )
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .build()
        .expect("meta");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    obj.clone()
        .with_exact_meta(meta)
        .write_to_file(path)
        .expect("write");
}

fn fixture() -> Fixture {
    let dir = tempfile_dir::Dir::new("in");
    let a = Patient {
        id: "PIDALPHA01",
        birth: "19710304",
        accession: "ACCX12345",
        study: uid(1),
    };
    let b = Patient {
        id: "PIDBRAVO02",
        birth: "19800101",
        accession: "ACCY67890",
        study: uid(2),
    };
    let mut registry = Registry::new();
    let mut plant = |v: &str, class: IdentifierClass, what: &str| {
        registry
            .plant(
                v,
                class,
                what,
                Site::FileName {
                    file: "x".to_owned(),
                },
            )
            .expect("plant");
    };
    for (v, w) in [
        ("QXVORAK", "patient family name"),
        ("ZELDINA", "patient given name"),
        ("PIDALPHA01", "patient id"),
        ("PIDBRAVO02", "patient id"),
        ("19710304", "birth date"),
        ("19800101", "birth date"),
        ("ACCX12345", "accession number"),
        ("ACCY67890", "accession number"),
        ("OTHERID9876", "other patient id"),
        ("PRIVLEAK77", "name in a private attribute"),
    ] {
        plant(v, IdentifierClass::Direct, w);
    }
    plant("HOSPINSTA1", IdentifierClass::Indirect, "institution");
    plant(
        "DRMORBIUS",
        IdentifierClass::Indirect,
        "physician family name",
    );
    plant("STUDYID77", IdentifierClass::Indirect, "study id");
    plant("20190619", IdentifierClass::Date, "study date");
    for n in [1, 2, 11, 12, 21, 22, 23, 24, 31] {
        plant(&uid(n), IdentifierClass::Uid, "uid");
    }
    // The patients' shared family name is burned into the secondary capture's band.
    registry
        .plant(
            "QXVORAK",
            IdentifierClass::Direct,
            "patient family name",
            Site::Pixels {
                file: "PIDBRAVO02/sc.dcm".to_owned(),
            },
        )
        .expect("plant");

    let mut files = Vec::new();
    // Patient A: CT series of three images in a folder named after the patient.
    for i in 0..3u32 {
        let sop = uid(21 + i);
        let mut o = image(&a, CT, &sop, &uid(11), i + 1, i as u16 + 1);
        put(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, &uid(31));
        put(&mut o, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
        // Other Patient IDs Sequence (X) with a nested ID.
        let mut other = InMemDicomObject::new_empty();
        put(&mut other, tags::PATIENT_ID, VR::LO, "OTHERID9876");
        seq(&mut o, tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![other]);
        // Request Attributes Sequence with a nested name (Z at any depth).
        let mut request = InMemDicomObject::new_empty();
        put(&mut request, tags::PATIENT_NAME, VR::PN, NAME);
        seq(&mut o, tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![request]);
        // An unsafe private block and a relocated safe one.
        put(&mut o, Tag(0x0009, 0x0010), VR::LO, "ACME_SITE");
        put(&mut o, Tag(0x0009, 0x1001), VR::LO, "PRIVLEAK77");
        put(&mut o, Tag(0x0019, 0x0011), VR::LO, "SIEMENS MR HEADER");
        put(&mut o, Tag(0x0019, 0x110C), VR::IS, "800");
        if i > 0 {
            let mut r = InMemDicomObject::new_empty();
            put(&mut r, Tag(0x0008, 0x1150), VR::UI, CT);
            put(&mut r, Tag(0x0008, 0x1155), VR::UI, &uid(21));
            seq(&mut o, tags::REFERENCED_IMAGE_SEQUENCE, vec![r]);
        }
        if i == 2 {
            // The RT quirk: a Study Instance UID in Referenced SOP Instance UID (PS3.3 §C.8.8.5).
            let mut r = InMemDicomObject::new_empty();
            put(
                &mut r,
                Tag(0x0008, 0x1150),
                VR::UI,
                "1.2.840.10008.3.1.2.3.1",
            );
            put(&mut r, Tag(0x0008, 0x1155), VR::UI, &a.study);
            seq(&mut o, RT_REFERENCED_STUDY_SEQUENCE, vec![r]);
        }
        let path = format!("QXVORAK_ZELDINA/CT CHEST/{}.dcm", i + 1);
        write(&o, &dir.path().join(&path), None);
        files.push(FileKey {
            path,
            kind: ObjectKind::Ct,
            patient: 0,
            sop_class_uid: CT.to_owned(),
            sop_instance_uid: sop,
            fingerprint: Fingerprint::PixelRows {
                sha256: pixel_fingerprint(&o).expect("pixels"),
            },
            burned_in: false,
        });
    }
    // Patient B, same name: one secondary capture with burned-in text.
    let mut o = image(&b, SC, &uid(24), &uid(12), 1, 9);
    put(&mut o, markers::BURNED_IN_ANNOTATION, VR::CS, "YES");
    let path = "PIDBRAVO02/sc.dcm".to_owned();
    write(&o, &dir.path().join(&path), None);
    files.push(FileKey {
        path,
        kind: ObjectKind::ScBurnedIn,
        patient: 1,
        sop_class_uid: SC.to_owned(),
        sop_instance_uid: uid(24),
        fingerprint: Fingerprint::PixelRows {
            sha256: pixel_fingerprint(&o).expect("pixels"),
        },
        burned_in: true,
    });
    std::fs::write(dir.path().join("worksample.json"), "{}").expect("manifest");
    let patients = [&a, &b]
        .iter()
        .map(|p| PatientKey {
            patient_id: p.id.to_owned(),
            name: NAME.to_owned(),
            other_ids: if p.id == a.id {
                vec!["OTHERID9876".to_owned()]
            } else {
                Vec::new()
            },
            birth_date: p.birth.to_owned(),
            study_uids: vec![p.study.clone()],
            accession_numbers: vec![p.accession.to_owned()],
        })
        .collect();
    let decoys = vec![Decoy {
        file: files[0].path.clone(),
        path: AttrPath::top(ElementKey::Tag(tags::BODY_PART_EXAMINED)),
        value: "CHEST".to_owned(),
        why: "body part".to_owned(),
    }];
    Fixture {
        key: Key {
            registry,
            patients,
            files,
            decoys,
        },
        dir,
    }
}

/// The flaws a mutant of the reference de-identifier has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flaws {
    copy: bool,
    path_leak: bool,
    uid_per_file: bool,
    uid_suffix: bool,
    stale_meta: bool,
    drop_all_private: bool,
    shift_birth: bool,
    no_markers: bool,
    wipe_descriptions: bool,
    keep_descriptions: bool,
    zero_whole_image: bool,
    keep_burned_in: bool,
    blank_most_of_band: bool,
    unblanked_second_copy: bool,
    offset_per_file: bool,
    keep_other_ids: bool,
    skip_sequences: bool,
    keep_unsafe_private: bool,
}

fn remove(o: &mut InMemDicomObject, tag: Tag) {
    o.remove_element(tag);
}

/// A correct de-identifier for this fixture, with the given flaws.
fn deidentify(fx: &Fixture, out: &Path, flaws: Flaws) {
    let mut uid_map: BTreeMap<String, String> = BTreeMap::new();
    let mut counter = 0u64;
    let mut new_uid = |old: &str, file: usize| -> String {
        counter += 1;
        let k = if flaws.uid_per_file {
            format!("{old}/{file}")
        } else {
            old.to_owned()
        };
        let fresh = if flaws.uid_suffix {
            format!("{old}.9")
        } else {
            format!("2.25.{}{:06}", 9_000_000 + file as u64, counter)
        };
        uid_map.entry(k).or_insert(fresh).clone()
    };
    let mut patients = BTreeMap::new();
    let mut uid_rows = BTreeMap::new();
    for (n, f) in fx.key.files.iter().enumerate() {
        let input = worksample_dicom::read::read_full(
            &fx.dir.path().join(&f.path),
            &worksample_dicom::read::ReadLimits::default(),
        )
        .expect("fixture reads");
        let mut o = input.dataset.clone();
        let original_sop = f.sop_instance_uid.clone();
        if flaws.copy {
            let target = out.join(&f.path);
            std::fs::create_dir_all(target.parent().expect("parent")).expect("dir");
            std::fs::copy(fx.dir.path().join(&f.path), target).expect("copy");
            continue;
        }
        let pseudonym = format!("DEID-{:04}", f.patient + 1);
        patients.insert(
            fx.key.patients[f.patient].patient_id.clone(),
            pseudonym.clone(),
        );
        put(&mut o, tags::PATIENT_NAME, VR::PN, &pseudonym);
        put(&mut o, tags::PATIENT_ID, VR::LO, &pseudonym);
        let offset = if flaws.offset_per_file {
            -100 - n as i64
        } else {
            -100 - f.patient as i64
        };
        let shift = |v: &str| worksample_deid::dates::shift_value(v, offset).expect("date");
        if flaws.shift_birth {
            let birth = fx.key.patients[f.patient].birth_date.clone();
            put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, &shift(&birth));
        } else {
            put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "");
        }
        for t in [tags::STUDY_DATE, tags::CONTENT_DATE] {
            put(&mut o, t, VR::DA, &shift("20190619"));
        }
        for t in [
            tags::ACCESSION_NUMBER,
            tags::STUDY_ID,
            tags::REFERRING_PHYSICIAN_NAME,
        ] {
            let vr = if t == tags::REFERRING_PHYSICIAN_NAME {
                VR::PN
            } else {
                VR::SH
            };
            put(&mut o, t, vr, "");
        }
        remove(&mut o, tags::INSTITUTION_NAME);
        if !flaws.keep_other_ids {
            remove(&mut o, tags::OTHER_PATIENT_I_DS_SEQUENCE);
        }
        if flaws.wipe_descriptions {
            remove(&mut o, tags::STUDY_DESCRIPTION);
        } else if flaws.keep_descriptions {
            // Left as the input has it.
        } else {
            put(&mut o, tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST for");
        }
        if !flaws.skip_sequences && o.get(tags::REQUEST_ATTRIBUTES_SEQUENCE).is_some() {
            let mut request = InMemDicomObject::new_empty();
            put(&mut request, tags::PATIENT_NAME, VR::PN, "REMOVED");
            seq(&mut o, tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![request]);
        }
        if !flaws.keep_unsafe_private {
            remove(&mut o, Tag(0x0009, 0x0010));
            remove(&mut o, Tag(0x0009, 0x1001));
        }
        if flaws.drop_all_private {
            remove(&mut o, Tag(0x0019, 0x0011));
            remove(&mut o, Tag(0x0019, 0x110C));
        }
        for t in [
            tags::SOP_INSTANCE_UID,
            tags::SERIES_INSTANCE_UID,
            tags::STUDY_INSTANCE_UID,
            tags::FRAME_OF_REFERENCE_UID,
        ] {
            if let Some(old) = o
                .get(t)
                .and_then(|e| e.to_str().ok().map(|s| s.trim_end_matches('\0').to_owned()))
            {
                let new = new_uid(&old, n);
                uid_rows.insert(old, new.clone());
                put(&mut o, t, VR::UI, &new);
            }
        }
        if o.get(tags::REFERENCED_IMAGE_SEQUENCE).is_some() {
            let mut r = InMemDicomObject::new_empty();
            put(&mut r, Tag(0x0008, 0x1150), VR::UI, CT);
            put(&mut r, Tag(0x0008, 0x1155), VR::UI, &new_uid(&uid(21), n));
            seq(&mut o, tags::REFERENCED_IMAGE_SEQUENCE, vec![r]);
        }
        if o.get(RT_REFERENCED_STUDY_SEQUENCE).is_some() {
            let mut r = InMemDicomObject::new_empty();
            put(
                &mut r,
                Tag(0x0008, 0x1150),
                VR::UI,
                "1.2.840.10008.3.1.2.3.1",
            );
            put(&mut r, Tag(0x0008, 0x1155), VR::UI, &new_uid(&uid(1), n));
            seq(&mut o, RT_REFERENCED_STUDY_SEQUENCE, vec![r]);
        }
        if f.burned_in {
            let pixels = o
                .element(tags::PIXEL_DATA)
                .expect("pixels")
                .to_multi_int::<u16>()
                .expect("u16");
            let blank_to = if flaws.keep_burned_in {
                0
            } else if flaws.blank_most_of_band {
                24
            } else if flaws.zero_whole_image {
                256
            } else {
                32
            };
            let pixels: Vec<u16> = pixels
                .iter()
                .enumerate()
                .map(|(i, v)| if i < blank_to { 0 } else { *v })
                .collect();
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(pixels.into()),
            ));
        }
        if !flaws.no_markers {
            markers::write(
                &mut o,
                markers::expected_options(f.burned_in),
                "worksample test reference",
            );
        }
        let new_sop = o
            .element(tags::SOP_INSTANCE_UID)
            .expect("sop")
            .to_str()
            .expect("s")
            .trim_end_matches('\0')
            .to_owned();
        let folder = if flaws.path_leak { "QXVORAK" } else { "out" };
        let stale = flaws.stale_meta.then_some(original_sop.as_str());
        write(&o, &out.join(folder).join(format!("{new_sop}.dcm")), stale);
        if flaws.unblanked_second_copy && f.burned_in {
            // Written before the pixels were cleaned, under a name that sorts after the clean
            // one, so the matching takes the clean copy and this one is the duplicate.
            let mut early = o.clone();
            early.put(
                input
                    .dataset
                    .element(tags::PIXEL_DATA)
                    .expect("pixels")
                    .clone(),
            );
            write(
                &early,
                &out.join(folder).join(format!("{new_sop}.early.dcm")),
                stale,
            );
        }
    }
    let csv = |rows: &BTreeMap<String, String>| {
        let mut s = String::from("id_old,id_new\n");
        for (a, b) in rows {
            s.push_str(&format!("{a},{b}\n"));
        }
        s
    };
    if !flaws.copy {
        std::fs::write(out.join("patients.csv"), csv(&patients)).expect("map");
        std::fs::write(out.join("uids.csv"), csv(&uid_rows)).expect("map");
    }
}

fn grade(fx: &Fixture, flaws: Flaws) -> Grade {
    let out = tempfile_dir::Dir::new("out");
    deidentify(fx, out.path(), flaws);
    graded(fx, out.path())
}

/// The grade of the output folder `out`, figures drawn.
fn graded(fx: &Fixture, out: &Path) -> Grade {
    grade_submission(&fx.key, fx.dir.path(), out, &NoProgress, Figures::Draw).expect("grades")
}

#[test]
fn figures_are_drawn_only_when_an_assessor_will_see_them_and_change_no_score() {
    let fx = fixture();
    let out = tempfile_dir::Dir::new("leaky");
    let flaws = Flaws {
        keep_burned_in: true,
        keep_other_ids: true,
        ..Flaws::default()
    };
    deidentify(&fx, out.path(), flaws);
    let grade = |shown| {
        grade_submission(&fx.key, fx.dir.path(), out.path(), &NoProgress, shown).expect("grades")
    };
    let drawn = grade(Figures::Draw);
    assert!(
        drawn.figures.len() >= 2,
        "burned-in bands and the leak tree"
    );
    // The grader's figures choice rests on this: a visible figure would be lost to candidates.
    assert!(
        drawn
            .figures
            .iter()
            .all(|f| f.visibility == worksample_task::rubric::Visibility::Hidden)
    );
    // Every deid figure is hidden: a candidate's report would drop each one.
    for shown in [Figures::Visible, Figures::Skip] {
        let text = grade(shown);
        assert!(text.figures.is_empty(), "{shown:?}");
        assert_eq!(text.criteria, drawn.criteria, "{shown:?}");
        assert_eq!(text.notes, drawn.notes, "{shown:?}");
    }
}

fn scores(g: &Grade) -> BTreeMap<String, f64> {
    g.criteria
        .iter()
        .map(|c| (c.id.as_str().to_owned(), c.score.get()))
        .collect()
}

/// The total out of 100 with the rubric's gates (the seed and profile do not change it).
fn total(g: &Grade) -> f64 {
    score::total(g.clone(), "standard", 0)
}

fn failing(g: &Grade, clean: &BTreeMap<String, f64>) -> BTreeSet<String> {
    scores(g)
        .into_iter()
        .filter(|(id, s)| *s < clean[id] - 1e-9)
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn the_reference_earns_full_marks_on_every_criterion() {
    let fx = fixture();
    let g = grade(&fx, Flaws::default());
    let ids: Vec<&str> = g.criteria.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, CRITERIA);
    let references = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "references")
        .expect("references");
    assert!(
        references.summary.starts_with("3 of 3 "),
        "two image references and the RT study reference: {}",
        references.summary
    );
    for c in &g.criteria {
        assert!(
            (c.score.get() - 1.0).abs() < 1e-9,
            "{} scored {}: {} {:#?}",
            c.id.as_str(),
            c.score.get(),
            c.summary,
            c.findings
        );
    }
}

#[test]
fn each_mutant_loses_points_on_exactly_its_criteria() {
    let fx = fixture();
    let clean = scores(&grade(&fx, Flaws::default()));
    let table: [(&str, Flaws, &[&str]); 16] = [
        (
            "keeps Other Patient IDs Sequence",
            Flaws {
                keep_other_ids: true,
                ..Flaws::default()
            },
            &["action_compliance", "direct_leaks"],
        ),
        (
            "skips nested names",
            Flaws {
                skip_sequences: true,
                ..Flaws::default()
            },
            // A name copied whole is the action's failure, not a character-set one.
            &["action_compliance", "direct_leaks"],
        ),
        (
            "keeps an unsafe private block",
            Flaws {
                keep_unsafe_private: true,
                ..Flaws::default()
            },
            &["direct_leaks", "private_tags"],
        ),
        (
            "identifier in the output path",
            Flaws {
                path_leak: true,
                ..Flaws::default()
            },
            &["direct_leaks"],
        ),
        (
            "new UID per file",
            Flaws {
                uid_per_file: true,
                ..Flaws::default()
            },
            &["hierarchy", "maps", "references", "uid_remap"],
        ),
        (
            "new UID = the original with a suffix",
            Flaws {
                uid_suffix: true,
                ..Flaws::default()
            },
            // The original is still readable, in values and bytes.
            &["indirect_leaks", "uid_remap"],
        ),
        (
            "stale file meta",
            Flaws {
                stale_meta: true,
                ..Flaws::default()
            },
            &["file_meta", "indirect_leaks", "maps", "uid_remap"],
        ),
        (
            "deletes all private tags",
            Flaws {
                drop_all_private: true,
                ..Flaws::default()
            },
            &["safe_private"],
        ),
        (
            "shifts the birth date",
            Flaws {
                shift_birth: true,
                ..Flaws::default()
            },
            &["date_offsets"],
        ),
        (
            "drops the markers",
            Flaws {
                no_markers: true,
                ..Flaws::default()
            },
            &["markers"],
        ),
        (
            "wipes descriptions",
            Flaws {
                wipe_descriptions: true,
                ..Flaws::default()
            },
            &["descriptors"],
        ),
        (
            "zeroes the whole image",
            Flaws {
                zero_whole_image: true,
                ..Flaws::default()
            },
            &["minimal_pixel_edit"],
        ),
        (
            "leaves burned-in text",
            Flaws {
                keep_burned_in: true,
                ..Flaws::default()
            },
            // The name in the band leaked as surely as one in a value.
            &["burned_in", "direct_leaks"],
        ),
        (
            "blanks three quarters of the band",
            Flaws {
                blank_most_of_band: true,
                ..Flaws::default()
            },
            // Short of the band check's full credit, but the name is no longer legible.
            &["burned_in"],
        ),
        (
            "keeps a copy written before the band was blanked",
            Flaws {
                unblanked_second_copy: true,
                ..Flaws::default()
            },
            // The clean copy earns the band check; the other still shows the name.
            &["direct_leaks", "hygiene"],
        ),
        (
            "offset per file",
            Flaws {
                offset_per_file: true,
                ..Flaws::default()
            },
            &["date_offsets"],
        ),
    ];
    for (name, flaws, expected) in table {
        let g = grade(&fx, flaws);
        let got = failing(&g, &clean);
        let by_header = g.notes.iter().any(|n| n.contains("by header only"));
        assert_eq!(
            by_header, flaws.zero_whole_image,
            "mutant `{name}`: {:?}",
            g.notes
        );
        let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(got, want, "mutant `{name}`: {:#?}", scores(&g));
    }
}

#[test]
fn a_plain_copy_and_an_empty_output_score_low() {
    let fx = fixture();
    let copy = grade(
        &fx,
        Flaws {
            copy: true,
            ..Flaws::default()
        },
    );
    let summaries: BTreeMap<&str, (f64, &str)> = copy
        .criteria
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                (
                    (c.score.get() * 1000.0).round() / 1000.0,
                    c.summary.as_str(),
                ),
            )
        })
        .collect();
    insta::assert_json_snapshot!("plain_copy", summaries);
    assert!(
        total(&copy) <= 20.0,
        "copy scores {:.1}: {:#?}",
        total(&copy),
        scores(&copy)
    );
    let empty = tempfile_dir::Dir::new("empty");
    let g = graded(&fx, empty.path());
    assert!(
        total(&g) <= 10.0,
        "deletion scores {:.1}: {:#?}",
        total(&g),
        scores(&g)
    );
    // A note says that no output matches; the findings say "not de-identified", not that an
    // attribute of a file that does not exist "is absent".
    assert!(
        g.notes.iter().any(|n| n.starts_with(&format!(
            "no output matches {0} of {0} inputs",
            fx.key.files.len()
        ))),
        "{:?}",
        g.notes
    );
    let actions = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "action_compliance")
        .expect("criterion");
    assert!(!actions.findings.is_empty());
    // Every failed action is a finding, kept (alone or as "the same in N more files") or
    // counted as dropped: none is lost to the caps (a report once said "… and 6 more" of 247).
    let failed: usize = copy_actions_total(&copy);
    let stated: usize = actions
        .findings
        .iter()
        .map(|f| {
            1 + f
                .message
                .split_once("(the same in ")
                .and_then(|(_, n)| n.split(' ').next()?.parse::<usize>().ok())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(stated + actions.findings_dropped, failed, "{actions:#?}");
    assert!(
        actions.findings_dropped > 0,
        "the fixture overflows the cap"
    );
    for f in &actions.findings {
        assert!(
            f.message.starts_with("not de-identified; the profile asks"),
            "{f:?}"
        );
    }
}

/// The number of attribute actions a plain copy gets wrong: all of them ("0 of N …").
fn copy_actions_total(copy: &Grade) -> usize {
    let actions = copy
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "action_compliance")
        .expect("criterion");
    assert!(actions.summary.starts_with("0 of "), "{}", actions.summary);
    actions.summary["0 of ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

/// An identifier in the folder every output sits in is one finding naming the files and
/// counting them, not one finding per file that crowds out the other identifiers.
#[test]
fn a_leak_in_every_path_is_one_finding_per_identifier() {
    let fx = fixture();
    let g = grade(
        &fx,
        Flaws {
            path_leak: true,
            ..Flaws::default()
        },
    );
    let direct = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "direct_leaks")
        .expect("direct_leaks");
    let outputs = fx.key.files.len();
    let path: Vec<&str> = direct
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .filter(|m| m.contains("in the path of") || m.contains("found in the file's path"))
        .collect();
    assert_eq!(path.len(), 1, "{:#?}", direct.findings);
    assert!(
        path[0].contains(&format!("in the path of {outputs} files: QXVORAK/")),
        "{}",
        path[0]
    );
    assert!(
        path[0].contains(&format!("… and {} more", outputs - 3)),
        "{}",
        path[0]
    );
    assert_eq!(direct.findings_dropped, 0, "{direct:#?}");
}

#[test]
fn hostile_entries_are_findings_not_errors() {
    let fx = fixture();
    let out = tempfile_dir::Dir::new("hostile");
    deidentify(&fx, out.path(), Flaws::default());
    std::fs::write(out.path().join("junk.dcm"), b"not dicom at all").expect("junk");
    std::fs::write(out.path().join("DICOMDIR"), b"\0\0").expect("dicomdir");
    let mut huge = vec![0u8; 132];
    huge[128..132].copy_from_slice(b"DICM");
    huge.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 0xFF, 0xFF]);
    std::fs::write(out.path().join("huge-length.dcm"), huge).expect("huge");
    std::os::unix::fs::symlink("/dev/zero", out.path().join("zero.dcm")).expect("link");
    let g = graded(&fx, out.path());
    let hygiene = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "hygiene")
        .expect("hygiene");
    assert!(hygiene.score.get() < 1.0);
    let files: BTreeSet<&str> = hygiene
        .findings
        .iter()
        .filter_map(|f| f.file.as_deref())
        .collect();
    for f in ["junk.dcm", "DICOMDIR", "huge-length.dcm", "zero.dcm"] {
        assert!(files.contains(f), "no finding for {f}: {files:?}");
    }
    // Privacy is unaffected by junk that leaks nothing.
    let direct = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "direct_leaks")
        .expect("leaks");
    assert!((direct.score.get() - 1.0).abs() < 1e-9);
}

#[test]
fn on_generated_fixtures_a_copy_and_an_empty_output_score_low() {
    let data = TaskData::from_embedded(TASK_ID, &EMBEDDED).expect("task data");
    for profile in ["standard", "hard"] {
        let params: worksample_deid::params::Params = data
            .profile(Some(profile))
            .expect("profile")
            .parse()
            .expect("params");
        let input = tempfile_dir::Dir::new(profile);
        let key = worksample_deid::generate::generate(3, &params, input.path()).expect("generates");
        // The fixture folder itself is a plain copy of the input.
        let copy = grade_submission(&key, input.path(), input.path(), &NoProgress, Figures::Draw)
            .expect("grades");
        assert!(
            total(&copy) <= 20.0,
            "{profile}: copy scores {:.1}: {:#?}",
            total(&copy),
            scores(&copy)
        );
        let empty = tempfile_dir::Dir::new("empty");
        let none = grade_submission(&key, input.path(), empty.path(), &NoProgress, Figures::Draw)
            .expect("grades");
        assert!(
            total(&none) <= 10.0,
            "{profile}: deletion scores {:.1}",
            total(&none)
        );
        assert!(
            scores(&copy).values().any(|s| *s > 0.0),
            "a copy keeps utility, which the grader must see"
        );
    }
}

/// The first output file of the reference de-identifier's set in `out`, by path.
fn first_output(out: &Path) -> std::path::PathBuf {
    std::fs::read_dir(out.join("out"))
        .expect("output folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .min()
        .expect("a file")
}

#[test]
fn a_lost_file_costs_coverage_and_caps_privacy_but_is_no_leak() {
    let fx = fixture();
    let out = tempfile_dir::Dir::new("lost");
    deidentify(&fx, out.path(), Flaws::default());
    let victim = first_output(out.path());
    std::fs::remove_file(victim).expect("remove");
    let g = graded(&fx, out.path());
    let s = scores(&g);
    assert_eq!(
        s["direct_leaks"], 1.0,
        "nothing leaked; a lost file is not a leak"
    );
    assert!(s["indirect_leaks"] < 1.0);
    for id in ["hygiene", "hierarchy", "markers", "geometry_acquisition"] {
        assert!(s[id] < 1.0, "{id} should count the lost file: {s:#?}");
    }
    // The files written still group as the input did, and nothing leaked: only the release
    // gate closes.
    let gates = score::closed_gates(g);
    assert_eq!(
        gates.into_iter().collect::<Vec<_>>(),
        ["every_input_released"]
    );
}

#[test]
fn a_stray_file_costs_hygiene_but_closes_no_gate() {
    let fx = fixture();
    let out = tempfile_dir::Dir::new("stray");
    deidentify(&fx, out.path(), Flaws::default());
    std::fs::write(out.path().join("notes.txt"), "done\n").expect("write");
    let g = graded(&fx, out.path());
    assert!(scores(&g)["hygiene"] < 1.0);
    // Every input has its output: the release gate reads that share, not the hygiene score.
    let gates = score::closed_gates(g);
    assert!(gates.is_empty(), "{gates:?}");
}

/// Patient ID left empty in every file gives every patient the same ID, and removed from every
/// file gives them the same absence: either way the patients fall together (merged), so the
/// structure gate closes (brief), besides what pseudonyms and the hierarchy score charge.
#[test]
fn empty_or_removed_patient_ids_merge_the_patients() {
    let fx = fixture();
    let with_ids = |label: &str, edit: &dyn Fn(&mut InMemDicomObject)| {
        let out = tempfile_dir::Dir::new(label);
        deidentify(&fx, out.path(), Flaws::default());
        let mut files = vec![out.path().to_path_buf()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path)
                        .expect("dir")
                        .map(|e| e.expect("entry").path()),
                );
            } else if path.extension().is_some_and(|e| e == "dcm") {
                let file = dicom_object::open_file(&path).expect("reads the reference's output");
                let meta = file.meta().clone();
                let mut obj = file.into_inner();
                edit(&mut obj);
                obj.with_exact_meta(meta)
                    .write_to_file(&path)
                    .expect("writes");
            }
        }
        let g = graded(&fx, out.path());
        let s = scores(&g);
        assert!(
            s["pseudonyms"] < 1.0 && s["hierarchy"] < 1.0,
            "{label}: {s:#?}"
        );
        score::closed_gates(g).contains("structure_kept")
    };
    assert!(with_ids("emptied", &|o| {
        o.put(DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            PrimitiveValue::Empty,
        ));
    }));
    assert!(with_ids("removed", &|o| {
        o.remove_element(tags::PATIENT_ID);
    }));
}

#[test]
fn a_new_uid_per_file_splits_the_series_and_caps_utility() {
    let fx = fixture();
    let split = grade(
        &fx,
        Flaws {
            uid_per_file: true,
            ..Flaws::default()
        },
    );
    let gates = score::closed_gates(split.clone());
    assert_eq!(
        gates.into_iter().collect::<Vec<_>>(),
        ["structure_kept"],
        "a split series costs utility"
    );
    let clean = grade(&fx, Flaws::default());
    assert!(score::closed_gates(clean).is_empty());
    // Utility's 25 points are capped at half; the hierarchy criterion alone is worth 2.
    assert!(
        total(&split) <= 100.0 - 12.5,
        "a new UID per file scores {:.1}",
        total(&split)
    );
}

#[test]
fn a_symlink_named_after_the_patient_leaks_through_its_name() {
    let fx = fixture();
    let out = tempfile_dir::Dir::new("link");
    deidentify(&fx, out.path(), Flaws::default());
    std::os::unix::fs::symlink("/dev/null", out.path().join("QXVORAK.txt")).expect("link");
    let g = graded(&fx, out.path());
    let direct = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "direct_leaks")
        .expect("leaks");
    assert!(direct.score.get() < 1.0);
    assert!(
        direct
            .findings
            .iter()
            .any(|f| f.file.as_deref() == Some("QXVORAK.txt")),
        "{:#?}",
        direct.findings
    );
}

/// A deflated data set stores its values compressed (PS3.5 §A.5): the patient's name in an OB
/// value, which the decoded-value scan skips, is found in the inflated bytes and said to be there.
#[test]
fn an_identifier_in_a_deflated_data_set_is_found_in_the_inflated_bytes() {
    let fx = fixture();
    let out = tempfile_dir::Dir::new("deflated");
    deidentify(&fx, out.path(), Flaws::default());
    let victim = first_output(out.path());
    let file = dicom_object::open_file(&victim).expect("reads the reference's output");
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    obj.put(DataElement::new(
        Tag(0x0042, 0x0011),
        VR::OB,
        PrimitiveValue::from(format!("{NAME} ").into_bytes()),
    ));
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(meta.media_storage_sop_class_uid())
        .media_storage_sop_instance_uid(meta.media_storage_sop_instance_uid())
        .transfer_syntax(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
        .build()
        .expect("meta");
    obj.with_exact_meta(meta)
        .write_to_file(&victim)
        .expect("writes deflated");
    let stored = std::fs::read(&victim).expect("reads back");
    assert!(
        !stored.windows(7).any(|w| w == b"QXVORAK"),
        "the name is compressed in the stored bytes"
    );
    let g = graded(&fx, out.path());
    let direct = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "direct_leaks")
        .expect("direct_leaks");
    assert!(direct.score.get() < 1.0, "{direct:#?}");
    assert!(
        direct.findings.iter().any(|f| f
            .location
            .as_deref()
            .is_some_and(|l| l.contains("inflated"))),
        "{direct:#?}"
    );
}

/// A descriptor left as it was is called that, with how many identifying tokens it holds, not
/// "cleaned to" its own value.
#[test]
fn a_descriptor_kept_verbatim_is_named_so() {
    let fx = fixture();
    let g = grade(
        &fx,
        Flaws {
            keep_descriptions: true,
            ..Flaws::default()
        },
    );
    let descriptors = g
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "descriptors")
        .expect("descriptors");
    assert!(
        descriptors.findings.iter().any(|f| f.message.contains(
            "descriptor kept verbatim scores 0.00: its 3 identifying tokens must be removed"
        )),
        "{:#?}",
        descriptors.findings
    );
}
