//! The `deid-maps` target: the two CSV maps a `deid` candidate writes (`patients.csv` and
//! `uids.csv`, header `id_old,id_new`; tasks/deid/brief.md "Output"), graded by the task's own
//! grader, [`worksample_deid::grade::grade_submission`], which reads them under the
//! grader's byte cap and checks every row against the maps it derives from the output files.
//!
//! Setup generates a small `deid` set from a fixed seed and de-identifies it with the reference
//! solution; each input then replaces the reference's two map files beside its (unchanged)
//! DICOM outputs, so the grader meets hostile maps exactly as it would in a real submission.

use std::path::{Path, PathBuf};

use worksample_deid::contract::{PATIENT_MAP, UID_MAP};
use worksample_deid::key::Key;
use worksample_deid::params::Params;
use worksample_task::rubric::Grade;
use worksample_task::{NoProgress, TaskData};

use crate::reference::deid::{Flaws, deidentify};
use crate::target::{Outcome, SetupError, io_error, normalize};

/// Generator seed of the set every input is graded against.
const FIXTURE_SEED: u64 = 1;

/// The line that ends `patients.csv` and starts `uids.csv` inside one input. An input without
/// it is all `patients.csv`, and `uids.csv` is then missing, as when a candidate forgets it.
pub const SPLIT: &[u8] = b"\n#-- uids.csv --#\n";

/// The grader with its set: trusted fixtures, the reference output, the key.
#[derive(Debug)]
pub struct DeidMaps {
    fixtures: PathBuf,
    submission: PathBuf,
    key: Key,
    /// One worker thread, so a run takes one core as the other targets do (the grader is
    /// parallel with rayon).
    pool: rayon::ThreadPool,
    seeds: Vec<Vec<u8>>,
}

impl DeidMaps {
    /// Generates the set under `scratch`, de-identifies it with the reference solution and
    /// keeps its two maps as seeds.
    pub fn new(scratch: &Path) -> Result<Self, SetupError> {
        let fixtures = scratch.join("deid-fixtures");
        let submission = scratch.join("deid-submission");
        let key = worksample_deid::generate::generate(FIXTURE_SEED, &small_params()?, &fixtures)
            .map_err(|e| SetupError::Generate(format!("deid: {e}")))?;
        deidentify(&fixtures, &submission, &Flaws::default())
            .map_err(|e| SetupError::Generate(format!("deid reference: {e}")))?;
        let patients_path = submission.join(PATIENT_MAP);
        let uids_path = submission.join(UID_MAP);
        let patients = std::fs::read(&patients_path).map_err(io_error(&patients_path))?;
        let uids = std::fs::read(&uids_path).map_err(io_error(&uids_path))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| SetupError::Generate(format!("a one-thread pool: {e}")))?;
        let crlf = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace('\n', "\r\n")
                .into_bytes()
        };
        let seeds = vec![
            join(&patients, &uids),
            join(&crlf(&patients), &crlf(&uids)),
            patients.clone(),
            join(&patients, b""),
        ];
        Ok(DeidMaps {
            fixtures,
            submission,
            key,
            pool,
            seeds,
        })
    }

    /// The reference's maps, with CRLF line ends, and with `uids.csv` missing or empty.
    pub fn seeds(&self) -> Vec<Vec<u8>> {
        self.seeds.clone()
    }

    /// Writes the input's two maps into the submission and grades it.
    pub fn run(&mut self, input: &[u8]) -> Outcome {
        let (patients, uids) = split(input);
        let uids_path = self.submission.join(UID_MAP);
        let written =
            std::fs::write(self.submission.join(PATIENT_MAP), patients).and_then(|()| match uids {
                Some(uids) => std::fs::write(&uids_path, uids),
                None => match std::fs::remove_file(&uids_path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            });
        if let Err(e) = written {
            return Outcome::Handled(format!("scratch write failed: {}", e.kind()));
        }
        let graded = self.pool.install(|| {
            worksample_deid::grade::grade_submission(
                &self.key,
                &self.fixtures,
                &self.submission,
                &NoProgress,
                worksample_task::Figures::Draw,
            )
        });
        match graded {
            Ok(grade) => Outcome::Handled(maps_signature(&grade)),
            // The fixtures and the DICOM outputs never change between inputs: an error here
            // is the maps' doing, and the grader must not turn them into a harness fault.
            Err(e) => Outcome::Fault(worksample_task::error_chain(&e)),
        }
    }
}

/// The `standard` profile shrunk to 16x16 single-slice series: every object kind and UID
/// family stays, grading one input takes milliseconds.
fn small_params() -> Result<Params, SetupError> {
    let data = TaskData::from_embedded(worksample_deid::TASK_ID, &worksample_deid::EMBEDDED)
        .map_err(|e| SetupError::Generate(format!("deid: {e}")))?;
    let mut params: Params = data
        .profile(None)
        .and_then(|p| p.parse())
        .map_err(|e| SetupError::Generate(format!("deid: {e}")))?;
    params.slices = 1;
    params.rows = 16;
    params.columns = 16;
    Ok(params)
}

/// One input from the two files.
fn join(patients: &[u8], uids: &[u8]) -> Vec<u8> {
    [patients, SPLIT, uids].concat()
}

/// `patients.csv` and, when the input holds [`SPLIT`], `uids.csv`.
pub fn split(input: &[u8]) -> (&[u8], Option<&[u8]>) {
    match input.windows(SPLIT.len()).position(|w| w == SPLIT) {
        Some(at) => (&input[..at], Some(&input[at + SPLIT.len()..])),
        None => (input, None),
    }
}

/// The `maps` criterion (the only one that reads the two files): its score in tenths, its
/// summary and its distinct finding kinds, with numbers and names masked.
fn maps_signature(grade: &Grade) -> String {
    let Some(maps) = grade.criteria.iter().find(|c| c.id.as_str() == "maps") else {
        return "no maps criterion".to_owned();
    };
    let mut kinds: Vec<String> = maps
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f.file.as_deref().unwrap_or("-"),
                normalize(&f.message)
            )
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds.truncate(6);
    format!(
        "{:.1} {} | {}",
        maps.score.get(),
        normalize(&maps.summary),
        kinds.join(" / ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_splits_into_the_two_maps_or_one() {
        let both = join(b"id_old,id_new\nA,B", b"id_old,id_new\n1.2,2.25.1\n");
        assert_eq!(
            split(&both),
            (
                &b"id_old,id_new\nA,B"[..],
                Some(&b"id_old,id_new\n1.2,2.25.1\n"[..])
            )
        );
        assert_eq!(split(b"id_old,id_new\n"), (&b"id_old,id_new\n"[..], None));
    }

    fn handled(outcome: Outcome) -> String {
        match outcome {
            Outcome::Handled(signature) => signature,
            Outcome::Fault(message) => panic!("a harness fault: {message}"),
        }
    }

    #[test]
    fn the_reference_maps_agree_and_a_missing_uid_map_costs_its_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut target = DeidMaps::new(dir.path()).expect("the set generates and de-identifies");
        let seeds = target.seeds();
        let full = handled(target.run(&seeds[0]));
        assert!(full.starts_with("1.0 "), "{full}");
        let crlf = handled(target.run(&seeds[1]));
        assert!(
            crlf.starts_with("1.0 "),
            "CRLF line ends are accepted: {crlf}"
        );
        let missing = handled(target.run(&seeds[2]));
        assert!(!missing.starts_with("1.0 "), "{missing}");
        assert!(missing.contains("uids.csv: "), "{missing}");
        let headers_only = handled(target.run(b"id_old,id_new\n"));
        assert!(headers_only.starts_with("0.0 "), "{headers_only}");
    }
}
