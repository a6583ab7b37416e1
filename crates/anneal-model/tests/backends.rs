//! The GPU path (wgpu; Mesa's software Vulkan on machines without a GPU, which
//! scripts/setup.sh installs) computes what the CPU path computes: the same weights and batch
//! give the same logits and the same gradients on flex and on wgpu. Never skipped: without a
//! Vulkan driver this test fails and says how to get one.

mod common;

use anneal_data::BatchTargets;
use anneal_model::{CnnConfig, DataShape, LossConfig, MlpConfig, Model, ModelConfig, Widths};
use burn::module::Module;
use burn::tensor::{Device, DeviceKind, Int, Tensor, TensorData};
use common::{relative_error, values};

/// Logits and first-layer weight gradient of `model` on one fixed batch, on `device`.
fn forward_backward(model: &Model, device: &Device) -> (Vec<f32>, Vec<f32>) {
    let batch = 16;
    let inputs: Vec<f32> = (0..batch * 64)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let inputs = Tensor::<2>::from_data(TensorData::new(inputs, [batch, 64]), device);
    let classes = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [batch],
        ),
        device,
    );
    let logits = model.forward(inputs);
    let loss = LossConfig::default().compute(logits.clone(), &BatchTargets::Classes(classes));
    let grads = loss.backward();
    let weight = match model {
        Model::Mlp(m) => m.hidden[0]
            .linear
            .weight
            .val()
            .grad(&grads)
            .map(|g| g.flatten::<1>(0, 1)),
        Model::Cnn(c) => c.blocks[0]
            .conv
            .weight
            .val()
            .grad(&grads)
            .map(|g| g.flatten::<1>(0, 3)),
    };
    (
        values(logits.detach()),
        values(weight.expect("first layer has a gradient")),
    )
}

#[test]
fn wgpu_matches_the_cpu_backend_on_mlp_and_cnn() {
    let cpu = Device::flex().autodiff();
    let gpu = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let probe = std::panic::catch_unwind(|| Tensor::<1>::zeros([1], &gpu).into_data());
    assert!(
        probe.is_ok(),
        "no wgpu adapter: install Mesa's Vulkan driver (scripts/setup.sh does) to test the GPU path"
    );
    let shape = DataShape {
        input: vec![1, 8, 8],
        outputs: 10,
    };
    let configs = [
        ModelConfig::Mlp(MlpConfig {
            depth: 2,
            units: Widths::Same(32),
            ..MlpConfig::default()
        }),
        ModelConfig::Cnn(CnnConfig {
            blocks: 2,
            filters: Widths::Same(8),
            ..CnnConfig::default()
        }),
    ];
    for config in configs {
        cpu.seed(3);
        let on_cpu = config.init(&cpu, &shape).unwrap();
        let on_gpu = on_cpu.clone().fork(&gpu);
        let (cpu_logits, cpu_grad) = forward_backward(&on_cpu, &cpu);
        let (gpu_logits, gpu_grad) = forward_backward(&on_gpu, &gpu);
        let logits_error = relative_error(&cpu_logits, &gpu_logits);
        let grad_error = relative_error(&cpu_grad, &gpu_grad);
        assert!(
            logits_error <= 1e-4,
            "{config:?}: logits differ by {logits_error:e}"
        );
        assert!(
            grad_error <= 1e-4,
            "{config:?}: gradients differ by {grad_error:e}"
        );
        assert!(
            cpu_grad.iter().any(|&g| g != 0.0),
            "a real gradient is compared"
        );
    }
}
