//! Helpers shared by the integration tests: one-instance builders.

use worksample_dicom::identity::CharsetChoice;
use worksample_dicom::model::{
    DxIntent, Instance, Modality, Patient, Series, SeriesSpec, Study, Vendor, build_instance,
};

/// Every IOD we build, as (label, modality, DX intent).
pub const IODS: [(&str, Modality, DxIntent); 6] = [
    ("ct", Modality::Ct, DxIntent::ForPresentation),
    ("mr", Modality::Mr, DxIntent::ForPresentation),
    ("dx_presentation", Modality::Dx, DxIntent::ForPresentation),
    ("dx_processing", Modality::Dx, DxIntent::ForProcessing),
    ("cr", Modality::Cr, DxIntent::ForPresentation),
    ("sc", Modality::Sc, DxIntent::ForPresentation),
];

/// Image 2 of a 3-image 16×16 series of `modality` with a fixed vendor.
pub fn instance(
    seed: u64,
    modality: Modality,
    intent: DxIntent,
    vendor: Vendor,
    charset: CharsetChoice,
) -> Instance {
    let patient = Patient::draw(seed, 0, charset);
    let study = Study::draw(seed, &patient, 0, modality);
    let mut spec = SeriesSpec::new(modality, 16, 16, 3);
    spec.dx_intent = intent;
    spec.vendor = Some(vendor);
    let series = Series::draw(seed, &patient, &study, 0, 1, &spec);
    build_instance(seed, &patient, &study, &series, 1)
}
