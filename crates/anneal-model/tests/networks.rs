//! Shapes, parameter counts, initialisation and train/eval behaviour of the built networks.

mod common;

use anneal_data::{Catalog, DatasetInfo};
use anneal_model::{
    CnnConfig, DataShape, Init, MlpConfig, Model, ModelConfig, Padding, Pooling, Widths,
};
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use common::values;

fn catalog() -> Catalog {
    Catalog::open(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets")).unwrap()
}

fn info(name: &str) -> DatasetInfo {
    let m = catalog().manifest(name).unwrap().clone();
    DatasetInfo {
        name: m.name,
        task: m.task,
        shape: m.shape,
        class_names: m.class_names,
        flip_invariant: m.flip_invariant,
    }
}

fn shape_of(info: &DatasetInfo) -> DataShape {
    DataShape {
        input: info.shape.clone(),
        outputs: anneal_model::LossConfig::default_for(info.task).outputs(info),
    }
}

#[test]
fn output_shapes_on_every_bundled_dataset() {
    let device = Device::flex();
    for name in [
        "mnist",
        "fashion-mnist",
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "diabetes",
    ] {
        let info = info(name);
        let shape = shape_of(&info);
        let mut configs = vec![ModelConfig::Mlp(MlpConfig {
            batch_norm: true,
            dropout: 0.2,
            ..MlpConfig::default()
        })];
        if info.is_image() {
            configs.push(ModelConfig::Cnn(CnnConfig {
                batch_norm: true,
                ..CnnConfig::default()
            }));
            configs.push(ModelConfig::Cnn(CnnConfig {
                blocks: 1,
                padding: Padding::Valid,
                pooling: Pooling::Avg,
                ..CnnConfig::default()
            }));
        }
        for config in configs {
            let model = config.init(&device, &shape).unwrap();
            let inputs =
                Tensor::<2>::random([5, info.feature_len()], Distribution::Default, &device);
            assert_eq!(
                model.forward(inputs).dims(),
                [5, shape.outputs],
                "{name} {config:?}"
            );
        }
    }
    assert_eq!(shape_of(&info("diabetes")).outputs, 1);
    assert_eq!(shape_of(&info("wine")).outputs, 3);
}

#[test]
fn mlp_parameter_count_is_closed_form() {
    let device = Device::flex();
    let shape = DataShape {
        input: vec![64],
        outputs: 10,
    };
    let config = MlpConfig {
        depth: 2,
        units: Widths::PerLayer(vec![128, 64]),
        ..MlpConfig::default()
    };
    let model = ModelConfig::Mlp(config.clone())
        .init(&device, &shape)
        .unwrap();
    assert_eq!(
        model.parameter_count(),
        64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    );
    assert_eq!(model.parameter_count(), 17_226);
    // Batch norm adds a scale and a shift per unit (running statistics are not parameters).
    let with_bn = ModelConfig::Mlp(MlpConfig {
        batch_norm: true,
        ..config
    })
    .init(&device, &shape)
    .unwrap();
    assert_eq!(with_bn.parameter_count(), 17_226 + 2 * (128 + 64));
}

#[test]
fn cnn_parameter_count_is_closed_form() {
    // conv3×3(1→32) → conv3×3(32→64) → maxpool 2 → fc 9216→128 → fc 128→10 (the MNIST reference net).
    let config = ModelConfig::Cnn(CnnConfig {
        blocks: 2,
        filters: Widths::PerLayer(vec![32, 64]),
        kernel_size: 3,
        padding: Padding::Valid,
        pooling: Pooling::Max,
        pool_every: 2,
        head_depth: 1,
        head_units: Widths::Same(128),
        ..CnnConfig::default()
    });
    let model = config
        .init(
            &Device::flex(),
            &DataShape {
                input: vec![1, 28, 28],
                outputs: 10,
            },
        )
        .unwrap();
    let expected =
        (32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 12 * 12 * 128 + 128) + (128 * 10 + 10);
    assert_eq!(expected, 1_199_882);
    assert_eq!(model.parameter_count(), expected);
}

#[test]
fn cnn_base_width_doubles_per_block() {
    let config = CnnConfig {
        blocks: 3,
        filters: Widths::Same(8),
        ..CnnConfig::default()
    };
    let plan = config.plan(&[1, 28, 28]).unwrap();
    assert_eq!(plan.blocks, [(8, true), (16, true), (32, true)]);
    assert_eq!(plan.flat_features, 32 * 3 * 3);
}

fn first_layer_weights(init: Init, fan_in: usize, fan_out: usize) -> (Vec<f32>, Vec<f32>) {
    let config = ModelConfig::Mlp(MlpConfig {
        depth: 1,
        units: Widths::Same(fan_out),
        init,
        ..MlpConfig::default()
    });
    let model = config
        .init(
            &Device::flex(),
            &DataShape {
                input: vec![fan_in],
                outputs: 2,
            },
        )
        .unwrap();
    let Model::Mlp(mlp) = model else {
        unreachable!()
    };
    let layer = &mlp.hidden[0].linear;
    let weights = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
    let bias = layer
        .bias
        .as_ref()
        .unwrap()
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    (weights, bias)
}

#[test]
fn initialisation_schemes_have_their_theoretical_spread() {
    // A square layer (the 512×512) and a 784→256 one, where fan_in ≠ fan_out tells the
    // He and Xavier formulas apart (they differ by 15% there) and catches swapped fans.
    for (fan_in, fan_out) in [(512usize, 512usize), (784, 256)] {
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        let cases = [
            (Init::HeNormal, (2.0 / fi).sqrt()),
            (Init::HeUniform, (2.0 / fi).sqrt()),
            (Init::XavierNormal, (2.0 / (fi + fo)).sqrt()),
            (Init::XavierUniform, (2.0 / (fi + fo)).sqrt()),
            (Init::Normal(0.02), 0.02),
            (Init::Uniform(0.1), 0.1 / 3f64.sqrt()),
        ];
        for (init, expected_std) in cases {
            let (w, bias) = first_layer_weights(init, fan_in, fan_out);
            assert_eq!(w.len(), fan_in * fan_out);
            let n = w.len() as f64;
            let mean = w.iter().map(|&x| x as f64).sum::<f64>() / n;
            let std = (w.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!(mean.abs() < 0.05 * expected_std, "{init:?}: mean {mean}");
            assert!(
                (std / expected_std - 1.0).abs() < 0.05,
                "{init:?} {fan_in}→{fan_out}: std {std} vs {expected_std}"
            );
            assert!(
                bias.iter().all(|&b| b == 0.0),
                "{init:?}: biases start at zero"
            );
        }
        // Uniform schemes stay inside their bound: He √(6/fan_in).
        let (w, _) = first_layer_weights(Init::HeUniform, fan_in, fan_out);
        let bound = (6.0 / fi).sqrt() as f32;
        assert!(w.iter().all(|x| x.abs() <= bound));
    }
}

#[test]
fn dropout_is_active_in_training_and_off_at_evaluation() {
    let train_device = Device::flex().autodiff();
    let config = ModelConfig::Mlp(MlpConfig {
        depth: 2,
        dropout: 0.5,
        ..MlpConfig::default()
    });
    let model = config
        .init(
            &train_device,
            &DataShape {
                input: vec![16],
                outputs: 4,
            },
        )
        .unwrap();
    let x = Tensor::<2>::random([8, 16], Distribution::Default, &train_device);
    let a = values(model.forward(x.clone()));
    let b = values(model.forward(x.clone()));
    assert_ne!(a, b, "dropout draws a new mask each training forward pass");

    let eval = model.valid();
    let eval_device = Device::flex();
    let x = Tensor::<2>::from_data(x.into_data(), &eval_device);
    let c = values(eval.forward(x.clone()));
    let d = values(eval.forward(x));
    assert_eq!(c, d, "evaluation is deterministic");
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_ones_at_evaluation() {
    let train_device = Device::flex().autodiff();
    let config = ModelConfig::Mlp(MlpConfig {
        depth: 1,
        units: Widths::Same(8),
        batch_norm: true,
        ..MlpConfig::default()
    });
    let model = config
        .init(
            &train_device,
            &DataShape {
                input: vec![4],
                outputs: 3,
            },
        )
        .unwrap();
    let batch = Tensor::<2>::random([6, 4], Distribution::Normal(2.0, 3.0), &train_device);
    let first_row = batch.clone().slice([0..1, 0..4]);

    // Training: a sample's output depends on the rest of its batch.
    let alone = values(model.forward(Tensor::cat(
        vec![first_row.clone(), first_row.clone() * 2.0],
        0,
    )));
    let in_batch = values(model.forward(batch.clone()));
    assert_ne!(alone[..3], in_batch[..3]);

    // Evaluation: running statistics, so a sample's output is the same in any batch.
    let eval = model.valid();
    let device = Device::flex();
    let batch = Tensor::<2>::from_data(batch.into_data(), &device);
    let first_row = Tensor::<2>::from_data(first_row.into_data(), &device);
    let alone = values(eval.forward(first_row));
    let in_batch = values(eval.forward(batch));
    for (a, b) in alone.iter().zip(&in_batch[..3]) {
        assert!((a - b).abs() < 1e-5, "{alone:?} vs {in_batch:?}");
    }
}

#[test]
fn gradients_reach_every_layer_of_both_networks() {
    let device = Device::flex().autodiff();
    let shape = DataShape {
        input: vec![1, 8, 8],
        outputs: 10,
    };
    let loss = anneal_model::LossConfig::default();
    let configs = [
        ModelConfig::Mlp(MlpConfig {
            batch_norm: true,
            dropout: 0.1,
            ..MlpConfig::default()
        }),
        ModelConfig::Cnn(CnnConfig {
            blocks: 2,
            filters: Widths::Same(4),
            batch_norm: true,
            ..CnnConfig::default()
        }),
    ];
    for config in configs {
        let model = config.init(&device, &shape).unwrap();
        let inputs = Tensor::<2>::random([6, 64], Distribution::Default, &device);
        let classes = Tensor::<1, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(vec![0i64, 1, 2, 3, 4, 5], [6]),
            &device,
        );
        let value = loss.compute(
            model.forward(inputs),
            &anneal_data::BatchTargets::Classes(classes),
        );
        let grads = value.backward();
        let first = match &model {
            Model::Mlp(m) => m.hidden[0]
                .linear
                .weight
                .val()
                .grad(&grads)
                .map(|g| g.abs().sum()),
            Model::Cnn(c) => c.blocks[0]
                .conv
                .weight
                .val()
                .grad(&grads)
                .map(|g| g.abs().sum()),
        };
        let magnitude = first
            .expect("first layer has a gradient")
            .into_scalar::<f32>();
        assert!(
            magnitude > 0.0 && magnitude.is_finite(),
            "{config:?}: |grad| = {magnitude}"
        );
    }
}
