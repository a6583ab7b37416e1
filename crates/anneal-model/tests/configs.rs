//! Configs parse from TOML, and every invalid one is a clear error naming the field — no panic.

use anneal_data::{DatasetInfo, Task};
use anneal_model::{Activation, DataShape, Init, LossConfig, ModelConfig, Widths};
use burn::tensor::Device;

fn info(shape: &[usize], task: Task) -> DatasetInfo {
    DatasetInfo {
        name: "probe".into(),
        task,
        shape: shape.to_vec(),
        class_names: if task == Task::Classification {
            (0..10).map(|c| c.to_string()).collect()
        } else {
            vec![]
        },
        flip_invariant: false,
    }
}

#[test]
fn toml_forms_parse() {
    let mlp: ModelConfig = toml::from_str(
        r#"kind = "mlp"
           depth = 3
           units = [256, 128, 64]
           activation = { leaky_relu = 0.2 }
           dropout = 0.3
           batch_norm = true
           init = "xavier_normal""#,
    )
    .unwrap();
    let ModelConfig::Mlp(m) = &mlp else { panic!() };
    assert_eq!(m.units, Widths::PerLayer(vec![256, 128, 64]));
    assert_eq!(m.activation, Activation::LeakyRelu(0.2));
    assert_eq!(m.init, Init::XavierNormal);

    let cnn: ModelConfig = toml::from_str(
        r#"kind = "cnn"
           blocks = 2
           filters = 16
           pooling = "avg"
           activation = "elu"
           init = { normal = 0.05 }"#,
    )
    .unwrap();
    let ModelConfig::Cnn(c) = &cnn else { panic!() };
    assert_eq!(
        (c.filters.clone(), c.activation, c.init),
        (Widths::Same(16), Activation::Elu(1.0), Init::Normal(0.05))
    );

    // A config round-trips through TOML (so a run can write back its resolved config).
    let text = toml::to_string(&mlp).unwrap();
    assert_eq!(toml::from_str::<ModelConfig>(&text).unwrap(), mlp);
    let text = toml::to_string(&cnn).unwrap();
    assert_eq!(toml::from_str::<ModelConfig>(&text).unwrap(), cnn);
}

#[test]
fn invalid_configs_give_clear_errors() {
    let image = info(&[1, 28, 28], Task::Classification);
    let digits = info(&[1, 8, 8], Task::Classification);
    let table = info(&[13], Task::Classification);
    // (TOML, dataset, words the error must contain)
    let cases: &[(&str, &DatasetInfo, &[&str])] = &[
        (
            "kind = \"mlp\"\ndepth = 2\nunits = [64]",
            &table,
            &["model.units", "1 widths but there are 2 layers"],
        ),
        (
            "kind = \"mlp\"\ndropout = 1.0",
            &table,
            &["model.dropout", "[0, 1)"],
        ),
        ("kind = \"mlp\"\ndropout = -0.1", &table, &["model.dropout"]),
        (
            "kind = \"mlp\"\nunits = 0",
            &table,
            &["model.units", "between 1 and 65536"],
        ),
        (
            "kind = \"mlp\"\nactivation = \"swish\"",
            &table,
            &["unknown activation 'swish'", "leaky_relu"],
        ),
        (
            "kind = \"mlp\"\nactivation = { relu = 1.0 }",
            &table,
            &["takes no parameter"],
        ),
        (
            "kind = \"mlp\"\ninit = \"orthogonal\"",
            &table,
            &["unknown init 'orthogonal'", "he_normal"],
        ),
        (
            "kind = \"mlp\"\ninit = { normal = -1.0 }",
            &table,
            &["model.init", "> 0"],
        ),
        (
            "kind = \"mlp\"\nlayers = 3",
            &table,
            &["unknown field `layers`", "depth"],
        ),
        (
            "kind = \"transformer\"",
            &table,
            &["unknown variant `transformer`", "mlp", "cnn"],
        ),
        (
            "kind = \"cnn\"",
            &table,
            &["model.kind", "a CNN needs image data", "kind = \"mlp\""],
        ),
        (
            "kind = \"cnn\"\nblocks = 4",
            &digits,
            &["model.blocks", "block 4 shrinks the 8×8 input below 1×1"],
        ),
        (
            "kind = \"cnn\"\nblocks = 3\npadding = \"valid\"\nkernel_size = 5",
            &image,
            &["block 3 shrinks"],
        ),
        (
            "kind = \"cnn\"\nkernel_size = 4",
            &image,
            &["model.padding", "odd kernel_size"],
        ),
        (
            "kind = \"cnn\"\nblocks = 2\nfilters = [8, 16, 32]",
            &image,
            &["model.filters", "3 widths but there are 2 layers"],
        ),
        (
            "kind = \"cnn\"\npool_every = 0",
            &image,
            &["model.pool_every"],
        ),
        (
            "kind = \"cnn\"\nhead_depth = 2\nhead_units = [64]",
            &image,
            &["model.head_units"],
        ),
    ];
    for (text, dataset, expected) in cases {
        let message = match toml::from_str::<ModelConfig>(text) {
            Err(parse_error) => parse_error.to_string(),
            Ok(config) => {
                let validate = config.validate(dataset).expect_err(text).to_string();
                // Building reports the same error rather than panicking inside Burn.
                let shape = DataShape {
                    input: dataset.shape.clone(),
                    outputs: 10,
                };
                let build = config
                    .init(&Device::flex(), &shape)
                    .expect_err(text)
                    .to_string();
                assert_eq!(validate, build);
                validate
            }
        };
        for word in *expected {
            assert!(
                message.contains(word),
                "{text:?}: error {message:?} lacks {word:?}"
            );
        }
    }
    assert!(cases.len() >= 10);
}

#[test]
fn invalid_loss_configs_give_clear_errors() {
    let classification = info(&[13], Task::Classification);
    let cases: &[(&str, &[&str])] = &[
        (
            "kind = \"cross_entropy\"\nlabel_smoothing = 1.0",
            &["loss.label_smoothing", "[0, 1)"],
        ),
        (
            "kind = \"hinge\"\nlabel_smoothing = 0.1",
            &["cross_entropy only"],
        ),
        (
            "kind = \"focal\"",
            &["unknown variant `focal`", "cross_entropy"],
        ),
        ("kind = \"bce\"", &["bce does not fit"]),
    ];
    for (text, expected) in cases {
        let message = match toml::from_str::<LossConfig>(text) {
            Err(e) => e.to_string(),
            Ok(loss) => loss.validate(&classification).unwrap_err().to_string(),
        };
        for word in *expected {
            assert!(
                message.contains(word),
                "{text:?}: {message:?} lacks {word:?}"
            );
        }
    }
}
