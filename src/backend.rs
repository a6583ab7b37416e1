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
        let device = match self.backend {
            Backend::Flex => Device::flex(),
            Backend::Ndarray => Device::ndarray(),
            Backend::Wgpu => Device::wgpu(match self.device {
                Some(index) => DeviceKind::DiscreteGpu(index),
                None => DeviceKind::DefaultDevice,
            }),
        };
        if self.backend == Backend::Wgpu {
            probe_gpu(&device, self.device)?;
        } else {
            // Chosen once, before any run: Burn's default device follows the CPU backend.
            anneal_train::resume::pin_default_device(self.name());
        }
        Ok(device)
    }
}

/// wgpu finds its adapter lazily and panics deep inside when there is none; try one tiny
/// tensor first, so a missing GPU is a clear error before any run folder exists.
fn probe_gpu(device: &Device, index: Option<usize>) -> anyhow::Result<()> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        burn::tensor::Tensor::<1>::zeros([1], device).into_data()
    }));
    std::panic::set_hook(quiet);
    outcome.map(|_| ()).map_err(|_| {
        let which = index.map_or("no usable GPU adapter".to_string(), |i| {
            format!("GPU {i} is not available")
        });
        anyhow::anyhow!(
            "--backend wgpu: {which}. Install a Vulkan driver (on Debian/Ubuntu \
             without a GPU: `apt-get install mesa-vulkan-drivers libvulkan1`, Mesa's software \
             Vulkan; scripts/setup.sh does this), or use a CPU backend: --backend flex"
        )
    })
}
