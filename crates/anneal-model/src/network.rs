//! The networks, built from [`ModelConfig`] on a run-time chosen [`Device`].

use burn::module::{Module, Param};
use burn::nn::activation::{
    Activation as ActivationLayer, ActivationConfig, EluConfig, LeakyReluConfig,
};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig,
    PaddingConfig2d,
};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use crate::config::{Activation, CnnConfig, Init, MlpConfig, ModelConfig, Padding, Pooling};
use crate::error::{ConfigError, Result};

/// What a network is built for: the shape of one input sample (after preprocessing) and the
/// number of outputs (classes, or 1 for regression and binary cross-entropy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataShape {
    /// Shape of one input sample, e.g. `[64]` or `[1, 28, 28]`.
    pub input: Vec<usize>,
    /// Number of network outputs.
    pub outputs: usize,
}

impl DataShape {
    /// Number of values in one input sample.
    pub fn input_features(&self) -> usize {
        self.input.iter().product()
    }
}

/// A built network: `forward` maps `[batch, features]` inputs to `[batch, outputs]` logits.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Model {
    /// A multi-layer perceptron.
    Mlp(Mlp),
    /// A convolutional network.
    Cnn(Cnn),
}

impl Model {
    /// Maps `[batch, features]` inputs to `[batch, outputs]` logits.
    pub fn forward(&self, inputs: Tensor<2>) -> Tensor<2> {
        match self {
            Model::Mlp(mlp) => mlp.forward(inputs),
            Model::Cnn(cnn) => cnn.forward(inputs),
        }
    }

    /// Number of trainable values (weights, biases, batch-norm scales and shifts), as PyTorch
    /// counts them. Burn's `num_params` also counts batch norm's running mean and variance,
    /// which are state, not trained; they are taken out here.
    pub fn parameter_count(&self) -> usize {
        let norms: Vec<&BatchNorm> = match self {
            Model::Mlp(mlp) => mlp.hidden.iter().filter_map(|l| l.norm.as_ref()).collect(),
            Model::Cnn(cnn) => cnn
                .blocks
                .iter()
                .filter_map(|b| b.norm.as_ref())
                .chain(cnn.head.iter().filter_map(|l| l.norm.as_ref()))
                .collect(),
        };
        let running: usize = norms
            .iter()
            .map(|n| 2 * n.gamma.shape().num_elements())
            .sum();
        self.num_params() - running
    }
}

impl ModelConfig {
    /// Builds the network for `shape` on `device` (wrap the device with `.autodiff()` to train).
    pub fn init(&self, device: &Device, shape: &DataShape) -> Result<Model> {
        if shape.outputs == 0 || shape.input_features() == 0 {
            return Err(ConfigError::new(
                "model",
                format!("cannot build a network for {shape:?}"),
            ));
        }
        Ok(match self {
            ModelConfig::Mlp(config) => Model::Mlp(Mlp::new(config, device, shape)?),
            ModelConfig::Cnn(config) => Model::Cnn(Cnn::new(config, device, shape)?),
        })
    }
}

/// Linear → [BatchNorm] → activation → Dropout.
#[derive(Module, Debug)]
pub struct DenseLayer {
    /// The linear map.
    pub linear: Linear,
    /// Batch normalisation, when the config asks for it.
    pub norm: Option<BatchNorm>,
    /// The non-linearity.
    pub activation: ActivationLayer,
    /// Dropout after the activation.
    pub dropout: Dropout,
}

impl DenseLayer {
    fn new(inputs: usize, outputs: usize, settings: &LayerSettings, device: &Device) -> Self {
        Self {
            linear: linear(inputs, outputs, settings.init, device),
            norm: settings
                .batch_norm
                .then(|| BatchNormConfig::new(outputs).init(device)),
            activation: activation_layer(settings.activation, device),
            dropout: DropoutConfig::new(settings.dropout).init(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.linear.forward(x);
        let x = match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        self.dropout.forward(self.activation.forward(x))
    }
}

/// The choices every hidden layer of a network shares.
struct LayerSettings {
    activation: Activation,
    dropout: f64,
    batch_norm: bool,
    init: Init,
}

/// A multi-layer perceptron: hidden dense layers, then a linear output layer.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The hidden layers, input side first.
    pub hidden: Vec<DenseLayer>,
    /// The output layer.
    pub output: Linear,
}

impl Mlp {
    fn new(config: &MlpConfig, device: &Device, shape: &DataShape) -> Result<Self> {
        let widths = config.hidden_widths()?;
        let settings = LayerSettings {
            activation: config.activation,
            dropout: config.dropout,
            batch_norm: config.batch_norm,
            init: config.init,
        };
        let (hidden, last) = dense_stack(shape.input_features(), &widths, &settings, device);
        Ok(Self {
            hidden,
            output: linear(last, shape.outputs, config.init, device),
        })
    }

    fn forward(&self, inputs: Tensor<2>) -> Tensor<2> {
        let x = self.hidden.iter().fold(inputs, |x, layer| layer.forward(x));
        self.output.forward(x)
    }
}

/// Dense layers of the given widths after `inputs` features; returns them and the last width.
fn dense_stack(
    inputs: usize,
    widths: &[usize],
    settings: &LayerSettings,
    device: &Device,
) -> (Vec<DenseLayer>, usize) {
    let mut layers = Vec::with_capacity(widths.len());
    let mut last = inputs;
    for &width in widths {
        layers.push(DenseLayer::new(last, width, settings, device));
        last = width;
    }
    (layers, last)
}

/// A convolution block's pooling layer (2×2 windows).
#[derive(Module, Debug)]
pub enum Pool {
    /// Max pooling.
    Max(MaxPool2d),
    /// Average pooling.
    Avg(AvgPool2d),
}

/// Conv2d → [BatchNorm] → activation → [pool] → Dropout.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// The convolution.
    pub conv: Conv2d,
    /// Batch normalisation, when the config asks for it.
    pub norm: Option<BatchNorm>,
    /// The non-linearity.
    pub activation: ActivationLayer,
    /// Pooling, in the blocks that pool.
    pub pool: Option<Pool>,
    /// Dropout at the end of the block.
    pub dropout: Dropout,
}

impl ConvBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = conv_forward(&self.conv, x);
        let x = match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        let x = self.activation.forward(x);
        let x = match &self.pool {
            Some(Pool::Max(pool)) => max_pool_forward(pool, x),
            Some(Pool::Avg(pool)) => pool.forward(x),
            None => x,
        };
        self.dropout.forward(x)
    }
}

/// `Conv2d::forward`, but through [`crate::conv::conv2d`] (im2col + GEMM on flex).
fn conv_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    // Burn's own padding arithmetic is crate-private; "same" splits the padding as Burn does.
    let same = |kernel: usize, stride: usize, size: usize| {
        let needed = (size.div_ceil(stride).max(1) - 1) * stride + kernel;
        let total = needed.saturating_sub(size);
        (total / 2, total - total / 2)
    };
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [
            same(conv.kernel_size[0], conv.stride[0], height),
            same(conv.kernel_size[1], conv.stride[1], width),
        ],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    };
    let options = ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
    crate::conv::conv2d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|bias| bias.val()),
        options,
    )
}

/// `MaxPool2d::forward`, but through [`crate::pool::max_pool2d`] when there is no padding,
/// dilation or ceiling rounding (what the CNN config builds).
fn max_pool_forward(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let plain =
        pool.padding == PaddingConfig2d::Valid && pool.dilation == [1, 1] && !pool.ceil_mode;
    if plain {
        crate::pool::max_pool2d(x, pool.kernel_size, pool.stride)
    } else {
        pool.forward(x)
    }
}

/// A convolutional network: convolution blocks, a dense head, then a linear output layer.
#[derive(Module, Debug)]
pub struct Cnn {
    /// The convolution blocks, input side first.
    pub blocks: Vec<ConvBlock>,
    /// The dense layers after the blocks.
    pub head: Vec<DenseLayer>,
    /// The output layer.
    pub output: Linear,
    /// Channels of the input images, to reshape `[batch, features]` inputs into images.
    pub channels: usize,
    /// Height of the input images, in pixels.
    pub height: usize,
    /// Width of the input images, in pixels.
    pub width: usize,
}

impl Cnn {
    fn new(config: &CnnConfig, device: &Device, shape: &DataShape) -> Result<Self> {
        let plan = config.plan(&shape.input)?;
        let settings = LayerSettings {
            activation: config.activation,
            dropout: config.dropout,
            batch_norm: config.batch_norm,
            init: config.init,
        };
        let mut blocks = Vec::with_capacity(plan.blocks.len());
        let mut channels = shape.input[0];
        for &(filters, pools) in &plan.blocks {
            let mut conv = Conv2dConfig::new([channels, filters], [config.kernel_size; 2])
                .with_padding(match config.padding {
                    Padding::Same => PaddingConfig2d::Same,
                    Padding::Valid => PaddingConfig2d::Valid,
                })
                .with_initializer(initializer(config.init))
                .init(device);
            conv.bias = Some(Param::from_tensor(Tensor::zeros([filters], device)));
            let pool = match config.pooling {
                _ if !pools => None,
                Pooling::Max => Some(Pool::Max(MaxPool2dConfig::new([2, 2]).init())),
                Pooling::Avg => Some(Pool::Avg(AvgPool2dConfig::new([2, 2]).init())),
                Pooling::None => None,
            };
            blocks.push(ConvBlock {
                conv,
                norm: settings
                    .batch_norm
                    .then(|| BatchNormConfig::new(filters).init(device)),
                activation: activation_layer(settings.activation, device),
                pool,
                dropout: DropoutConfig::new(settings.dropout).init(),
            });
            channels = filters;
        }
        let head_widths = config
            .head_units
            .expand(config.head_depth, false, "model.head_units")?;
        let (head, last) = dense_stack(plan.flat_features, &head_widths, &settings, device);
        Ok(Self {
            blocks,
            head,
            output: linear(last, shape.outputs, config.init, device),
            channels: shape.input[0],
            height: shape.input[1],
            width: shape.input[2],
        })
    }

    fn forward(&self, inputs: Tensor<2>) -> Tensor<2> {
        let batch = inputs.dims()[0];
        let images = inputs.reshape([batch, self.channels, self.height, self.width]);
        let features = self.blocks.iter().fold(images, |x, block| block.forward(x));
        let x = features.flatten::<2>(1, 3);
        let x = self.head.iter().fold(x, |x, layer| layer.forward(x));
        self.output.forward(x)
    }
}

/// A linear layer with weights from `init` and a zero bias.
fn linear(inputs: usize, outputs: usize, init: Init, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(inputs, outputs)
        .with_initializer(initializer(init))
        .init(device);
    layer.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    layer
}

/// Burn's initialiser for a scheme. Burn's Kaiming takes a gain: √2 gives He's
/// std √(2 / fan_in) (normal) and bound √(6 / fan_in) (uniform); Xavier uses gain 1.
pub fn initializer(init: Init) -> Initializer {
    let he_gain = std::f64::consts::SQRT_2;
    match init {
        Init::XavierUniform => Initializer::XavierUniform { gain: 1.0 },
        Init::XavierNormal => Initializer::XavierNormal { gain: 1.0 },
        Init::HeUniform => Initializer::KaimingUniform {
            gain: he_gain,
            fan_out_only: false,
        },
        Init::HeNormal => Initializer::KaimingNormal {
            gain: he_gain,
            fan_out_only: false,
        },
        Init::Normal(std) => Initializer::Normal { mean: 0.0, std },
        Init::Uniform(range) => Initializer::Uniform {
            min: -range,
            max: range,
        },
    }
}

fn activation_layer(activation: Activation, device: &Device) -> ActivationLayer {
    let config = match activation {
        Activation::Relu => ActivationConfig::Relu,
        Activation::LeakyRelu(slope) => {
            ActivationConfig::LeakyRelu(LeakyReluConfig::new().with_negative_slope(slope))
        }
        Activation::Gelu => ActivationConfig::Gelu,
        Activation::Tanh => ActivationConfig::Tanh,
        Activation::Sigmoid => ActivationConfig::Sigmoid,
        Activation::Elu(alpha) => ActivationConfig::Elu(EluConfig::new().with_alpha(alpha)),
        Activation::Selu => ActivationConfig::Selu,
    };
    config.init(device)
}
