mod common;
#[test]
fn dump() {
    let data = common::data();
    let params: worksample_series::generate::Params =
        data.profile(Some("hard")).and_then(|p| p.parse()).unwrap();
    let seed = (0..500)
        .find(|s| {
            let t = worksample_series::generate::planned_traps(*s, &params);
            ["F2", "F3", "F4", "S6", "T4", "T5", "T10", "S7"]
                .iter()
                .all(|x| t.contains(x))
        })
        .unwrap();
    eprintln!("seed {seed}");
    let (dir, key) = common::fixture(seed, "hard");
    let keep = std::path::Path::new("/tmp/fix-hard-x");
    let _ = std::fs::remove_dir_all(keep);
    std::process::Command::new("cp")
        .arg("-r")
        .arg(dir.path())
        .arg(keep)
        .status()
        .unwrap();
    for t in &key.traps {
        eprintln!(
            "{} {} {:?}",
            t.id,
            t.label,
            match &t.check {
                worksample_series::key::TrapCheck::Included(f)
                | worksample_series::key::TrapCheck::Excluded(f) => f.clone(),
                _ => vec![],
            }
        );
    }
}
