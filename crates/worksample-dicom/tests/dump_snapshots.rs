//! Semantic dump snapshots of one 16×16 instance of each IOD, read back from an explicit VR LE
//! file (file meta included).

mod common;

use worksample_dicom::dump::semantic_dump;
use worksample_dicom::identity::CharsetChoice;
use worksample_dicom::model::Vendor;
use worksample_dicom::read::{ReadLimits, read_full};
use worksample_dicom::write::{TransferSyntax, WriteOptions, write_file};

#[test]
fn dump_of_each_iod() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vendors = [Vendor::Ge, Vendor::Siemens, Vendor::Philips];
    for (i, (label, modality, intent)) in common::IODS.into_iter().enumerate() {
        let charset = [
            CharsetChoice::Ascii,
            CharsetChoice::Latin1,
            CharsetChoice::Utf8,
        ][i % 3];
        let inst = common::instance(2024, modality, intent, vendors[i % 3], charset);
        let path = dir.path().join(format!("{label}.dcm"));
        write_file(
            &inst,
            &path,
            &WriteOptions::new(TransferSyntax::ExplicitVrLittleEndian),
        )
        .expect("writes");
        let file = read_full(&path, &ReadLimits::default()).expect("reads");
        insta::assert_snapshot!(label, semantic_dump(&file.dataset, file.meta.as_ref()));
    }
}
