//! The one place the compute device is chosen: `--backend` and `--device` on the command line.

use burn::tensor::{Device, DeviceKind};
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (the fastest CPU backend here; the default).
    Flex,
    /// Burn's ndarray CPU backend (deprecated upstream; much slower on convolutions).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal or DX12; Mesa's software Vulkan without a GPU).
    Wgpu,
}

#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
    /// GPU index for `--backend wgpu` (default: the best available adapter).
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
}

impl BackendArgs {
    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
        }
    }

    pub fn device(&self) -> anyhow::Result<Device> {
        if self.device.is_some() && self.backend != Backend::Wgpu {
            anyhow::bail!("--device selects a GPU and needs --backend wgpu");
        }
        #[allow(deprecated)] // ndarray is deprecated in Burn 0.22 but still offered for comparison.
        Ok(match self.backend {
            Backend::Flex => Device::flex(),
            Backend::Ndarray => Device::ndarray(),
            Backend::Wgpu => Device::wgpu(match self.device {
                Some(index) => DeviceKind::DiscreteGpu(index),
                None => DeviceKind::DefaultDevice,
            }),
        })
    }
}
