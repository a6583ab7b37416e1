pub mod ask;
pub mod bench;
pub mod datasets;
pub mod report;
pub mod study;
pub mod train;
pub mod tune;
