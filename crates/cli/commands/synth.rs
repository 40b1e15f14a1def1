//! `worksample synth`: general synthetic DICOM studies from a seed (modality, patients, studies,
//! series, slices, matrix, transfer syntax, quirks), with a progress bar on stderr, a summary on
//! stdout and an optional pixel manifest for interop checks.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use worksample_dicom::geometry::SliceLocationMode;
use worksample_dicom::identity::CharsetChoice;
use worksample_dicom::model::{DxIntent, Modality, Plane, Vendor};
use worksample_dicom::synth::{SynthSpec, synthesize};
use worksample_dicom::write::TransferSyntax;

/// Generate synthetic DICOM studies.
#[derive(clap::Args, Debug)]
pub(crate) struct SynthArgs {
    /// Modalities (CT, MR, DX, CR, SC), comma-separated; studies cycle through them.
    #[arg(long, value_delimiter = ',', default_value = "CT")]
    modality: Vec<String>,
    /// Number of patients.
    #[arg(long, default_value_t = 1)]
    patients: u32,
    /// Studies per patient.
    #[arg(long, default_value_t = 1)]
    studies: u32,
    /// Series per study.
    #[arg(long, default_value_t = 1)]
    series: u32,
    /// Images per series (slices for CT and MR).
    #[arg(long, default_value_t = 16)]
    slices: u32,
    /// Rows of each image.
    #[arg(long, default_value_t = 64)]
    rows: u16,
    /// Columns of each image.
    #[arg(long, default_value_t = 64)]
    columns: u16,
    /// Transfer syntax: implicit-le, explicit-le, explicit-be, deflated, rle.
    #[arg(long, default_value = "explicit-le")]
    transfer_syntax: String,
    /// DX Presentation Intent: presentation or processing.
    #[arg(long, default_value = "presentation")]
    dx_intent: String,
    /// Quirks, repeatable or comma-separated: vendor=ge|siemens|philips, no-preamble, no-meta,
    /// no-private, charset=ascii|latin1|utf8, plane=axial|sagittal|coronal|oblique,
    /// gantry-tilt=DEGREES, slice-location=absent|negated|constant.
    #[arg(long = "quirk", value_delimiter = ',')]
    quirks: Vec<String>,
    /// Seed of every value, UID and pixel.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Also write a JSON-lines pixel manifest here (one line per file).
    #[arg(long)]
    pixel_manifest: Option<PathBuf>,
}

/// Runs `worksample synth`.
pub(crate) fn run(args: SynthArgs) -> anyhow::Result<()> {
    let mut spec = resolve(&args)?;
    spec.pixel_manifest = args.pixel_manifest.is_some();
    let bar = ProgressBar::with_draw_target(Some(spec.file_count()), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("synth");
    let summary = synthesize(&spec, &args.out, &|done, _| bar.set_position(done))
        .with_context(|| format!("failed to synthesize into `{}`", args.out.display()))?;
    bar.finish_and_clear();

    if let Some(path) = &args.pixel_manifest {
        let mut text = String::new();
        for e in &summary.manifest {
            let line = serde_json::json!({
                "path": e.path,
                "sop_class_uid": e.sop_class_uid,
                "transfer_syntax": e.transfer_syntax,
                "rows": e.rows,
                "columns": e.columns,
                "frames": e.frames,
                "samples_per_pixel": e.samples_per_pixel,
                "bits_allocated": e.bits_allocated,
                "pixel_representation": e.pixel_representation,
                "photometric": e.photometric,
                "pixel_sha256": e.pixel_sha256,
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
        std::fs::write(path, text)
            .with_context(|| format!("failed to write pixel manifest `{}`", path.display()))?;
    }

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} files ({} bytes) to {}",
        summary.files,
        summary.bytes,
        args.out.display()
    )?;
    writeln!(
        out,
        "patients {}, studies {}, series {}",
        summary.patients, summary.studies, summary.series
    )?;
    for (modality, count) in &summary.per_modality {
        writeln!(out, "  {}: {count} files", modality.name())?;
    }
    writeln!(
        out,
        "transfer syntax {} ({}), seed {}",
        spec.transfer_syntax.name(),
        spec.transfer_syntax.uid(),
        spec.seed
    )?;
    Ok(())
}

/// Turns the raw flags into a validated spec.
fn resolve(args: &SynthArgs) -> anyhow::Result<SynthSpec> {
    let modalities = args
        .modality
        .iter()
        .map(|m| {
            Modality::parse(m.trim())
                .with_context(|| format!("unknown modality `{m}` (expected CT, MR, DX, CR or SC)"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(first) = modalities.first().copied() else {
        bail!("--modality needs at least one modality")
    };
    let mut spec = SynthSpec::new(args.seed, first);
    spec.modalities = modalities;
    spec.patients = args.patients;
    spec.studies_per_patient = args.studies;
    spec.series_per_study = args.series;
    spec.images_per_series = args.slices;
    spec.rows = args.rows;
    spec.columns = args.columns;
    spec.transfer_syntax = TransferSyntax::parse(&args.transfer_syntax).with_context(|| {
        format!("unknown transfer syntax `{}` (expected implicit-le, explicit-le, explicit-be, deflated or rle)", args.transfer_syntax)
    })?;
    spec.dx_intent = match args.dx_intent.as_str() {
        "presentation" => DxIntent::ForPresentation,
        "processing" => DxIntent::ForProcessing,
        other => bail!("unknown --dx-intent `{other}` (expected presentation or processing)"),
    };
    if args.patients == 0 || args.studies == 0 || args.series == 0 || args.slices == 0 {
        bail!("--patients, --studies, --series and --slices must be at least 1");
    }
    if args.rows == 0 || args.columns == 0 {
        bail!("--rows and --columns must be at least 1");
    }
    // Within one machine's reach: the plan holds an entry per file and each image is rendered
    // in memory (4,294,967,295 slices aborted on a 68 GB allocation; a 65,535² image took 24 GB).
    const MAX_FILES: u64 = 100_000;
    const MAX_SIDE: u16 = 4096;
    if spec.file_count() > MAX_FILES {
        bail!(
            "--patients × --studies × --series × --slices makes {} files; at most {MAX_FILES} in one run",
            spec.file_count()
        );
    }
    if args.rows > MAX_SIDE || args.columns > MAX_SIDE {
        bail!(
            "--rows and --columns must be at most {MAX_SIDE} (got {} × {})",
            args.rows,
            args.columns
        );
    }
    for quirk in &args.quirks {
        let (key, value) = quirk
            .split_once('=')
            .map_or((quirk.as_str(), ""), |(k, v)| (k, v));
        match key {
            "vendor" => {
                spec.vendor = Some(Vendor::parse(value).with_context(|| {
                    format!("unknown vendor `{value}` (expected ge, siemens or philips)")
                })?);
            }
            "no-preamble" => spec.preamble = false,
            "no-meta" => {
                spec.file_meta = false;
                spec.preamble = false;
            }
            "no-private" => spec.private_tags = false,
            "charset" => {
                spec.charset = Some(CharsetChoice::parse(value).with_context(|| {
                    format!("unknown charset `{value}` (expected ascii, latin1 or utf8)")
                })?);
            }
            "plane" => {
                spec.plane = match value {
                    "axial" => Plane::Axial,
                    "sagittal" => Plane::Sagittal,
                    "coronal" => Plane::Coronal,
                    "oblique" => Plane::Oblique,
                    other => bail!(
                        "unknown plane `{other}` (expected axial, sagittal, coronal or oblique)"
                    ),
                };
            }
            "gantry-tilt" => {
                let degrees: f64 = value
                    .parse()
                    .with_context(|| format!("gantry-tilt needs degrees, got `{value}`"))?;
                if !degrees.is_finite() || degrees.abs() >= 60.0 {
                    bail!("gantry-tilt must be between -60 and 60 degrees, got {degrees}");
                }
                spec.plane = Plane::GantryTilt(degrees);
            }
            "slice-location" => {
                spec.slice_location = match value {
                    "absent" => SliceLocationMode::Absent,
                    "negated" => SliceLocationMode::Negated,
                    "constant" => SliceLocationMode::Constant(0.0),
                    "consistent" => SliceLocationMode::Consistent,
                    other => bail!(
                        "unknown slice-location `{other}` (expected absent, negated, constant or consistent)"
                    ),
                };
            }
            other => bail!("unknown quirk `{other}`"),
        }
    }
    Ok(spec)
}
