//! Writes one `deid` fixture set: `cargo run -p worksample-deid --example deid_fixtures -- --seed N
//! --profile standard|hard --out DIR`. Prints the number of files and planted identifiers; used by
//! tests/interop/check-deid-iods.sh to validate every file with dciodvfy, dcmdump and gdcminfo.

#![expect(clippy::print_stdout, reason = "an example reports what it wrote")]

use std::path::PathBuf;

use worksample_deid::params::Params;
use worksample_deid::{EMBEDDED, TASK_ID, generate};
use worksample_task::TaskData;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seed = 1u64;
    let mut profile = "standard".to_owned();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--seed" => {
                seed = value
                    .parse()
                    .map_err(|_| format!("--seed {value}: not a number"))?
            }
            "--profile" => profile = value,
            "--out" => out = Some(PathBuf::from(value)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    let data = TaskData::from_embedded(TASK_ID, &EMBEDDED)?;
    let params: Params = data.profile(Some(&profile))?.parse()?;
    let key = generate::generate(seed, &params, &out)?;
    println!(
        "{} files, {} planted identifiers, {} decoys in {}",
        key.files.len(),
        key.registry.len(),
        key.decoys.len(),
        out.display()
    );
    Ok(())
}
