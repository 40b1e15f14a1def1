//! Every IOD × transfer syntax round-trips through dicom-object reading and dicom-pixeldata
//! decoding to exactly the stored values the engine meant (RLE included: this checks our encoder
//! against dicom-rs's decoder), and the header survives our tolerant reader.

mod common;

use dicom_dictionary_std::tags;
use dicom_pixeldata::PixelDecoder;
use worksample_dicom::identity::CharsetChoice;
use worksample_dicom::model::Vendor;
use worksample_dicom::read::{Framing, ReadLimits, read_full, read_header};
use worksample_dicom::write::{TransferSyntax, WriteOptions, write_file};

#[test]
fn every_iod_and_syntax_decodes_to_the_stored_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (label, modality, intent) in common::IODS {
        for ts in TransferSyntax::ALL {
            let inst =
                common::instance(21, modality, intent, Vendor::Siemens, CharsetChoice::Latin1);
            let pixels = inst.pixels.as_ref().expect("built with pixels");
            let path = dir.path().join(format!("{label}-{}.dcm", ts.name()));
            write_file(&inst, &path, &WriteOptions::new(ts)).expect("writes");

            let obj = dicom_object::open_file(&path)
                .unwrap_or_else(|e| panic!("{label} {}: {e}", ts.name()));
            assert_eq!(obj.meta().transfer_syntax(), ts.uid());
            let decoded = obj
                .decode_pixel_data()
                .unwrap_or_else(|e| panic!("{label} {}: {e}", ts.name()));
            assert_eq!(
                decoded.data(),
                pixels.le_bytes().as_slice(),
                "{label} {}",
                ts.name()
            );

            let ours = read_full(&path, &ReadLimits::default()).expect("our reader reads it");
            assert_eq!(ours.framing, Framing::Part10);
            assert_eq!(ours.transfer_syntax, ts.uid());
            let name = ours
                .dataset
                .element(tags::PATIENT_NAME)
                .expect("name")
                .to_str()
                .expect("text")
                .into_owned();
            let want = inst
                .dataset
                .element(tags::PATIENT_NAME)
                .expect("name")
                .to_str()
                .expect("text")
                .into_owned();
            assert_eq!(name, want, "{label} {}: Latin-1 name survives", ts.name());
        }
    }
}

#[test]
fn header_read_stops_before_pixel_data_and_bare_framings_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inst = common::instance(
        3,
        worksample_dicom::model::Modality::Ct,
        common::IODS[0].2,
        Vendor::Ge,
        CharsetChoice::Utf8,
    );
    for (preamble, file_meta, framing, ts) in [
        (
            true,
            true,
            Framing::Part10,
            TransferSyntax::ExplicitVrBigEndian,
        ),
        (
            false,
            true,
            Framing::NoPreamble,
            TransferSyntax::DeflatedExplicitVrLittleEndian,
        ),
        (
            false,
            false,
            Framing::RawDataSet,
            TransferSyntax::ImplicitVrLittleEndian,
        ),
        (
            true,
            false,
            Framing::RawDataSet,
            TransferSyntax::ExplicitVrLittleEndian,
        ),
    ] {
        let path = dir
            .path()
            .join(format!("{}-{preamble}-{file_meta}.dcm", ts.name()));
        write_file(
            &inst,
            &path,
            &WriteOptions {
                transfer_syntax: ts,
                preamble,
                file_meta,
            },
        )
        .expect("writes");
        let header = read_header(&path, &ReadLimits::default()).expect("reads");
        assert_eq!(header.framing, framing, "{}", ts.name());
        assert_eq!(header.transfer_syntax, ts.uid());
        assert!(header.dataset.get(tags::PIXEL_DATA).is_none());
        let name = header
            .dataset
            .element(tags::PATIENT_NAME)
            .expect("name")
            .to_str()
            .expect("text")
            .into_owned();
        let want = inst
            .dataset
            .element(tags::PATIENT_NAME)
            .expect("name")
            .to_str()
            .expect("text")
            .into_owned();
        assert_eq!(name, want);
        let full = read_full(&path, &ReadLimits::default()).expect("reads");
        assert!(full.dataset.get(tags::PIXEL_DATA).is_some());
        assert!(worksample_dicom::read::is_dicom(&path));
    }
}

#[test]
fn private_creators_are_reserved_from_0010() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (vendor, group, creator, element) in [
        (Vendor::Ge, 0x0009, "GEMS_IDEN_01", 0x01u8),
        (Vendor::Siemens, 0x0029, "SIEMENS CSA HEADER", 0x08),
        (Vendor::Philips, 0x2005, "Philips MR Imaging DD 001", 0x0E),
    ] {
        let inst = common::instance(
            4,
            worksample_dicom::model::Modality::Mr,
            common::IODS[1].2,
            vendor,
            CharsetChoice::Ascii,
        );
        let path = dir.path().join(format!("{creator}.dcm"));
        write_file(
            &inst,
            &path,
            &WriteOptions::new(TransferSyntax::ExplicitVrLittleEndian),
        )
        .expect("writes");
        let back = read_header(&path, &ReadLimits::default()).expect("reads");
        let owner = back
            .dataset
            .element(dicom_core::Tag(group, 0x0010))
            .expect("creator at (gggg,0010)");
        assert_eq!(owner.to_str().expect("text").trim(), creator);
        assert!(back.dataset.get(dicom_core::Tag(group, 0x0001)).is_none());
        let value = worksample_dicom::private::get_private(&back.dataset, group, creator, element);
        assert!(
            value.is_some(),
            "{creator} element {element:02X} in block 10"
        );
        assert!(
            back.dataset
                .get(dicom_core::Tag(group, 0x1000 | u16::from(element)))
                .is_some()
        );
    }
}

#[test]
fn missing_sop_instance_uid_is_an_error_not_an_empty_meta_uid() {
    let mut inst = common::instance(
        1,
        worksample_dicom::model::Modality::Sc,
        common::IODS[5].2,
        Vendor::Ge,
        CharsetChoice::Ascii,
    );
    inst.dataset.remove_element(tags::SOP_INSTANCE_UID);
    let err = worksample_dicom::write::to_bytes(
        &inst,
        &WriteOptions::new(TransferSyntax::ExplicitVrLittleEndian),
    )
    .expect_err("no SOP Instance UID");
    insta::assert_snapshot!(err.to_string(), @"instance has no SOP Instance UID: cannot build its file meta group");
}
