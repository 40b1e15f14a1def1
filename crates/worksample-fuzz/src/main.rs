//! `worksample-fuzz TARGET SECONDS [options]`: fuzzes one target for a time budget and prints
//! its figures. The supervisor re-runs this binary with `--worker` (see `engine`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use worksample_fuzz::guard::CountingAlloc;
use worksample_fuzz::{Config, Stats, TargetId, supervise, work};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: worksample-fuzz TARGET SECONDS [--dir DIR] [--seeds DIR] [--seed N] \
[--timeout-ms N] [--memory-mb N] [--max-len BYTES]
       worksample-fuzz TARGET replay FILE... [--memory-mb N]   (run saved inputs once, for triage)
targets: dicom, series-json, checkfile, task-toml, rubric-toml, manifest, deid-maps, shift-json";

struct Args {
    worker: bool,
    config: Config,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut rest = args.iter().peekable();
    let worker = rest.next_if(|a| *a == "--worker").is_some();
    let name = rest.next().ok_or("missing TARGET")?;
    let target = TargetId::from_name(name).ok_or_else(|| format!("unknown target `{name}`"))?;
    let amount = rest.next().ok_or("missing SECONDS")?;
    let amount: u64 = amount
        .parse()
        .map_err(|_| format!("SECONDS must be a whole number, not `{amount}`"))?;
    // Workers get milliseconds so restarts do not lose the fractions.
    let budget = if worker {
        Duration::from_millis(amount)
    } else {
        Duration::from_secs(amount)
    };
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest_dir.clone(), PathBuf::from);
    let mut config = Config {
        target,
        budget,
        dir: root.join("target/worksample-fuzz").join(target.name()),
        seeds: root.join("fixtures/fuzz").join(target.name()),
        rng_seed: 1,
        input_timeout: Duration::from_secs(10),
        input_memory: 256 << 20,
        max_len: 4 << 20,
    };
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} needs a whole number, not `{value}`"))
        };
        match flag.as_str() {
            "--dir" => config.dir = PathBuf::from(value),
            "--seeds" => config.seeds = PathBuf::from(value),
            "--seed" => config.rng_seed = number()?,
            "--timeout-ms" => config.input_timeout = Duration::from_millis(number()?),
            "--memory-mb" => {
                config.input_memory = usize::try_from(number()? << 20).unwrap_or(usize::MAX)
            }
            "--max-len" => config.max_len = usize::try_from(number()?).unwrap_or(usize::MAX),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(Args { worker, config })
}

fn summary(config: &Config, s: &Stats) -> String {
    format!(
        "target {}: {} executions in {} s, corpus {}, behaviours {}, crashes {}, hangs {}, \
faults {}, slowest input {} ms, largest input heap {} KiB, worker restarts {}\ncrash inputs: {}",
        config.target.name(),
        s.executions,
        config.budget.as_secs(),
        s.corpus,
        s.behaviours,
        s.crashes,
        s.hangs,
        s.faults,
        s.slowest_ms,
        s.peak_bytes >> 10,
        s.restarts,
        config.dir.join("crashes").display(),
    )
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.get(1).is_some_and(|a| a == "replay") {
        let rest: Vec<String> = argv.drain(2..).collect();
        let split = rest
            .iter()
            .position(|a| a.starts_with("--"))
            .unwrap_or(rest.len());
        let files: Vec<PathBuf> = rest[..split].iter().map(PathBuf::from).collect();
        argv.truncate(1);
        argv.push("0".into());
        argv.extend_from_slice(&rest[split..]);
        let Ok(args) = parse(&argv) else {
            let _ = writeln!(std::io::stderr(), "{USAGE}");
            return ExitCode::from(2);
        };
        return match worksample_fuzz::engine::replay(&args.config, &files) {
            Ok(lines) => {
                for line in lines {
                    let _ = writeln!(std::io::stdout(), "{line}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = if args.worker {
        work(&args.config)
    } else {
        std::env::current_exe()
            .map_err(|source| worksample_fuzz::engine::EngineError::Spawn {
                exe: PathBuf::from("worksample-fuzz"),
                source,
            })
            .and_then(|exe| supervise(&args.config, &exe))
    };
    match result {
        Ok(_) if args.worker => ExitCode::SUCCESS,
        Ok(stats) => {
            let _ = writeln!(std::io::stdout(), "{}", summary(&args.config, &stats));
            if stats.crashes + stats.hangs + stats.faults == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            let _ = writeln!(std::io::stderr(), "error: {chain}");
            ExitCode::FAILURE
        }
    }
}
