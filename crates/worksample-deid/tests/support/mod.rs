//! Test support shared by the `deid` integration tests: the reference de-identifier and its
//! mutants ([`reference`]).

pub mod reference;
