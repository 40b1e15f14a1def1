//! Model invariants on built datasets: geometry (IPP steps along the normal by the spacing,
//! gantry tilt, Slice Location), workflow times, identity consistency, and that a task can edit
//! a built instance before writing.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::geometry::SliceLocationMode;
use worksample_dicom::identity::{CharsetChoice, age_string};
use worksample_dicom::model::{
    Modality, Patient, Plane, Series, SeriesSpec, Study, build_header, build_instance,
    build_instances,
};
use worksample_dicom::read::{ReadLimits, read_header};
use worksample_dicom::write::{TransferSyntax, WriteOptions, write_file};

fn floats(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag)
        .expect("present")
        .to_multi_float64()
        .expect("numeric")
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .expect("present")
        .to_str()
        .expect("text")
        .into_owned()
}

fn series(plane: Plane, slice_location: SliceLocationMode) -> (Patient, Study, Series) {
    let patient = Patient::draw(77, 0, CharsetChoice::Ascii);
    let study = Study::draw(77, &patient, 0, Modality::Ct);
    let mut spec = SeriesSpec::new(Modality::Ct, 8, 8, 5);
    spec.plane = plane;
    spec.slice_location = slice_location;
    let series = Series::draw(77, &patient, &study, 0, 1, &spec);
    (patient, study, series)
}

fn cross(a: &[f64], b: &[f64]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn positions_step_along_the_normal_by_the_spacing() {
    for plane in [
        Plane::Axial,
        Plane::Sagittal,
        Plane::Coronal,
        Plane::Oblique,
    ] {
        let (p, s, se) = series(plane, SliceLocationMode::Consistent);
        let instances = build_instances(77, &p, &s, &se);
        let iop = floats(&instances[0].dataset, tags::IMAGE_ORIENTATION_PATIENT);
        let n = cross(&iop[..3], &iop[3..]);
        let spacing = floats(&instances[0].dataset, tags::SPACING_BETWEEN_SLICES)[0];
        for pair in instances.windows(2) {
            let a = floats(&pair[0].dataset, tags::IMAGE_POSITION_PATIENT);
            let b = floats(&pair[1].dataset, tags::IMAGE_POSITION_PATIENT);
            let d: Vec<f64> = b.iter().zip(&a).map(|(x, y)| x - y).collect();
            assert!((dot(&d, &n) - spacing).abs() < 1e-3, "{plane:?}");
            assert!(
                dot(&d, &iop[..3]).abs() < 1e-3 && dot(&d, &iop[3..]).abs() < 1e-3,
                "{plane:?}"
            );
        }
        for inst in &instances {
            let ipp = floats(&inst.dataset, tags::IMAGE_POSITION_PATIENT);
            let location = floats(&inst.dataset, tags::SLICE_LOCATION)[0];
            assert!((location - dot(&ipp, &n)).abs() < 1e-3, "{plane:?}");
        }
    }
}

#[test]
fn gantry_tilt_moves_the_table_and_tilts_the_plane() {
    let (p, s, se) = series(Plane::GantryTilt(20.0), SliceLocationMode::Consistent);
    let instances = build_instances(77, &p, &s, &se);
    assert_eq!(
        floats(&instances[0].dataset, tags::GANTRY_DETECTOR_TILT),
        vec![20.0]
    );
    let iop = floats(&instances[0].dataset, tags::IMAGE_ORIENTATION_PATIENT);
    assert!((iop[4] - 20f64.to_radians().cos()).abs() < 1e-5);
    let a = floats(&instances[0].dataset, tags::IMAGE_POSITION_PATIENT);
    let b = floats(&instances[1].dataset, tags::IMAGE_POSITION_PATIENT);
    assert_eq!(
        (a[0], a[1]),
        (b[0], b[1]),
        "only z changes between tilted slices"
    );
    let n = cross(&iop[..3], &iop[3..]);
    let spacing = floats(&instances[0].dataset, tags::SPACING_BETWEEN_SLICES)[0];
    assert!((dot(&[0.0, 0.0, b[2] - a[2]], &n) - spacing).abs() < 1e-3);
}

#[test]
fn slice_location_override_is_applied() {
    let (p, s, se) = series(Plane::Axial, SliceLocationMode::Absent);
    let instances = build_instances(77, &p, &s, &se);
    assert!(instances[0].dataset.get(tags::SLICE_LOCATION).is_none());
    let (p, s, se) = series(Plane::Axial, SliceLocationMode::Negated);
    let instances = build_instances(77, &p, &s, &se);
    let z = floats(&instances[4].dataset, tags::IMAGE_POSITION_PATIENT)[2];
    assert_eq!(floats(&instances[4].dataset, tags::SLICE_LOCATION)[0], -z);
}

#[test]
fn workflow_values_are_consistent() {
    let (p, s, se) = series(Plane::Axial, SliceLocationMode::Consistent);
    let instances = build_instances(77, &p, &s, &se);
    let study_time = text(&instances[0].dataset, tags::STUDY_TIME);
    for inst in &instances {
        let ds = &inst.dataset;
        assert_eq!(text(ds, tags::CONTENT_DATE), text(ds, tags::STUDY_DATE));
        assert!(text(ds, tags::CONTENT_TIME) >= study_time);
        assert!(text(ds, tags::SERIES_TIME) >= study_time);
        assert!(text(ds, tags::STUDY_DATE) > text(ds, tags::PATIENT_BIRTH_DATE));
        assert_eq!(
            text(ds, tags::PATIENT_AGE),
            age_string(p.identity.birth_date, s.date)
        );
        assert_eq!(
            text(ds, tags::FRAME_OF_REFERENCE_UID),
            s.frame_of_reference_uid
        );
    }
    let numbers: Vec<String> = instances
        .iter()
        .map(|i| text(&i.dataset, tags::INSTANCE_NUMBER))
        .collect();
    assert_eq!(numbers, ["1", "2", "3", "4", "5"]);
}

#[test]
fn a_task_can_edit_a_built_instance_before_writing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (p, s, se) = series(Plane::Axial, SliceLocationMode::Consistent);
    let mut inst = build_instances(77, &p, &s, &se).remove(0);
    let uid = inst
        .sop_instance_uid()
        .expect("built with a SOP Instance UID");
    assert!(uid.starts_with("2.25."));
    inst.dataset.remove_element(tags::SERIES_INSTANCE_UID);
    inst.dataset.put(DataElement::new(
        tags::IMAGE_COMMENTS,
        VR::LT,
        PrimitiveValue::from("edited by a task"),
    ));
    let path = dir.path().join("edited.dcm");
    write_file(
        &inst,
        &path,
        &WriteOptions::new(TransferSyntax::ImplicitVrLittleEndian),
    )
    .expect("writes");
    let back = read_header(&path, &ReadLimits::default()).expect("reads");
    assert!(back.dataset.get(tags::SERIES_INSTANCE_UID).is_none());
    assert_eq!(
        text(&back.dataset, tags::IMAGE_COMMENTS),
        "edited by a task"
    );
}

#[test]
fn a_header_is_the_built_instance_without_its_pixels() {
    for plane in [Plane::Axial, Plane::Sagittal, Plane::GantryTilt(12.0)] {
        let (patient, study, series) = series(plane, SliceLocationMode::Consistent);
        for index in 0..series.geometry.count {
            let full = build_instance(77, &patient, &study, &series, index);
            let header = build_header(77, &patient, &study, &series, index);
            assert!(header.pixels.is_none());
            assert!(full.pixels.is_some());
            assert!(header.dataset == full.dataset, "{plane:?} {index}");
        }
    }
}
