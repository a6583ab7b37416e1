pub mod bench;
pub mod datasets;
