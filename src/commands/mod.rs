pub mod bench;
pub mod datasets;
pub mod train;
pub mod tune;
