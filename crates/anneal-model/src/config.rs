//! Serde configs for the networks. Every architecture hyperparameter is a field, so a TOML file
//! can set it and the tuner can search over it.

use anneal_data::{DatasetInfo, Task};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Result};

/// Which network to build: `kind = "mlp"` or `kind = "cnn"` in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// A multi-layer perceptron (`kind = "mlp"`).
    Mlp(MlpConfig),
    /// A convolutional network (`kind = "cnn"`).
    Cnn(CnnConfig),
}

/// Hidden-layer widths: one width for every layer, or an explicit list (one per layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Widths {
    /// A single number: the same width for every layer (CNN filters double it per block).
    Same(usize),
    /// One width per layer.
    PerLayer(Vec<usize>),
}

/// Non-linearity after each hidden layer. TOML: `"relu"`, `"gelu"`, `"tanh"`, `"sigmoid"`,
/// `"selu"`, or `{ leaky_relu = 0.01 }` (negative slope), `{ elu = 1.0 }` (alpha);
/// bare `"leaky_relu"` / `"elu"` take those defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "NameWithParam")]
pub enum Activation {
    /// Rectified linear unit, `max(0, x)`.
    Relu,
    /// Leaky ReLU with this negative slope (default 0.01).
    LeakyRelu(f64),
    /// Gaussian error linear unit.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Exponential linear unit with this alpha (default 1.0).
    Elu(f64),
    /// Scaled exponential linear unit.
    Selu,
}

/// Weight initialisation (biases always start at zero). TOML: `"xavier_uniform"`,
/// `"xavier_normal"`, `"he_uniform"`, `"he_normal"`, `{ normal = 0.02 }` (std),
/// `{ uniform = 0.05 }` (weights in ±range).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "NameWithParam")]
pub enum Init {
    /// Xavier (Glorot) uniform, gain 1.
    XavierUniform,
    /// Xavier (Glorot) normal, gain 1.
    XavierNormal,
    /// He (Kaiming) uniform: bound √(6 / fan_in).
    HeUniform,
    /// He (Kaiming) normal: std √(2 / fan_in).
    HeNormal,
    /// Normal with mean 0 and this standard deviation (default 0.01).
    Normal(f64),
    /// Uniform in ±this range (default 0.05).
    Uniform(f64),
}

/// How a convolution treats the image border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// Keep height and width (kernel_size must be odd).
    Same,
    /// No padding: each convolution trims kernel_size − 1 pixels.
    Valid,
}

/// Downsampling after a convolution block: 2×2 windows that halve height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The window's maximum.
    Max,
    /// The window's mean.
    Avg,
    /// No pooling.
    None,
}

/// A multi-layer perceptron: `depth` × (Linear → [BatchNorm] → activation → [Dropout]), then the
/// output layer. Image inputs are flattened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpConfig {
    /// Number of hidden layers (0..=64).
    pub depth: usize,
    /// Width of each hidden layer.
    pub units: Widths,
    /// Non-linearity after each hidden layer.
    pub activation: Activation,
    /// Dropout probability after each hidden layer, in [0, 1).
    pub dropout: f64,
    /// Whether each hidden layer has batch normalisation.
    pub batch_norm: bool,
    /// Weight initialisation.
    pub init: Init,
}

/// A convolutional network: `blocks` × (Conv2d → [BatchNorm] → activation → [pool] →
/// [Dropout]), then a dense head of `head_depth` layers, then the output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CnnConfig {
    /// Number of convolution blocks (1..=16).
    pub blocks: usize,
    /// One base width that doubles with every block, or an explicit list (one per block).
    pub filters: Widths,
    /// Side of the square convolution kernel, in pixels (1..=15).
    pub kernel_size: usize,
    /// Border handling of every convolution.
    pub padding: Padding,
    /// The pooling of the blocks that pool (see `pool_every`).
    pub pooling: Pooling,
    /// Pool after every `pool_every`-th block (and never more often); 1 pools after each block.
    pub pool_every: usize,
    /// Number of dense layers between the last block and the output layer (0..=16).
    pub head_depth: usize,
    /// Width of each dense head layer.
    pub head_units: Widths,
    /// Non-linearity after every convolution and dense head layer.
    pub activation: Activation,
    /// Dropout probability after every block and head layer, in [0, 1).
    pub dropout: f64,
    /// Whether every convolution and head layer has batch normalisation.
    pub batch_norm: bool,
    /// Weight initialisation.
    pub init: Init,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            depth: 2,
            units: Widths::Same(128),
            activation: Activation::Relu,
            dropout: 0.0,
            batch_norm: false,
            init: Init::HeUniform,
        }
    }
}

impl Default for CnnConfig {
    fn default() -> Self {
        Self {
            blocks: 2,
            filters: Widths::Same(32),
            kernel_size: 3,
            padding: Padding::Same,
            pooling: Pooling::Max,
            pool_every: 1,
            head_depth: 1,
            head_units: Widths::Same(128),
            activation: Activation::Relu,
            dropout: 0.0,
            batch_norm: false,
            init: Init::HeUniform,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Mlp(MlpConfig::default())
    }
}

/// How an [`Activation`] or [`Init`] is written in TOML: a bare name, or `{ name = parameter }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum NameWithParam {
    Name(String),
    WithParam(std::collections::BTreeMap<String, f64>),
}

impl NameWithParam {
    /// Splits into the name and optional parameter; `what` ("activation", "init") names the
    /// field in errors.
    fn into_parts(self, what: &'static str) -> Result<NamedChoice, String> {
        let (name, param) = match self {
            NameWithParam::Name(name) => (name, None),
            NameWithParam::WithParam(map) if map.len() == 1 => {
                let (name, value) = map.into_iter().next().expect("one entry");
                (name, Some(value))
            }
            NameWithParam::WithParam(map) => {
                return Err(format!(
                    "{what}: expected a name or one `name = parameter` pair, got {} keys",
                    map.len()
                ));
            }
        };
        Ok(NamedChoice { what, name, param })
    }
}

struct NamedChoice {
    what: &'static str,
    name: String,
    param: Option<f64>,
}

impl NamedChoice {
    /// `value`, provided no parameter was given (the choice takes none).
    fn plain<T>(&self, value: T) -> Result<T, String> {
        match self.param {
            None => Ok(value),
            Some(_) => Err(format!("{} '{}' takes no parameter", self.what, self.name)),
        }
    }

    fn param_or(&self, default: f64) -> f64 {
        self.param.unwrap_or(default)
    }

    fn unknown<T>(&self, allowed: &str) -> Result<T, String> {
        Err(format!(
            "unknown {} '{}'; allowed: {allowed}",
            self.what, self.name
        ))
    }
}

const ACTIVATIONS: &str =
    "relu, leaky_relu (slope, default 0.01), gelu, tanh, sigmoid, elu (alpha, default 1.0), selu";
const INITS: &str = "xavier_uniform, xavier_normal, he_uniform, he_normal, normal (std, default 0.01), uniform (range, default 0.05)";

impl TryFrom<NameWithParam> for Activation {
    type Error = String;

    fn try_from(repr: NameWithParam) -> Result<Self, String> {
        let choice = repr.into_parts("activation")?;
        match choice.name.as_str() {
            "relu" => choice.plain(Activation::Relu),
            "gelu" => choice.plain(Activation::Gelu),
            "tanh" => choice.plain(Activation::Tanh),
            "sigmoid" => choice.plain(Activation::Sigmoid),
            "selu" => choice.plain(Activation::Selu),
            "leaky_relu" => Ok(Activation::LeakyRelu(choice.param_or(0.01))),
            "elu" => Ok(Activation::Elu(choice.param_or(1.0))),
            _ => choice.unknown(ACTIVATIONS),
        }
    }
}

impl TryFrom<NameWithParam> for Init {
    type Error = String;

    fn try_from(repr: NameWithParam) -> Result<Self, String> {
        let choice = repr.into_parts("init")?;
        match choice.name.as_str() {
            "xavier_uniform" | "glorot_uniform" => choice.plain(Init::XavierUniform),
            "xavier_normal" | "glorot_normal" => choice.plain(Init::XavierNormal),
            "he_uniform" | "kaiming_uniform" => choice.plain(Init::HeUniform),
            "he_normal" | "kaiming_normal" => choice.plain(Init::HeNormal),
            "normal" => Ok(Init::Normal(choice.param_or(0.01))),
            "uniform" => Ok(Init::Uniform(choice.param_or(0.05))),
            _ => choice.unknown(INITS),
        }
    }
}

/// The layer plan of a CNN, checked against the input image before anything is allocated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvPlan {
    /// Per block: (output channels, whether it pools).
    pub blocks: Vec<(usize, bool)>,
    /// Features entering the dense head: channels × height × width after the last block.
    pub flat_features: usize,
}

impl Widths {
    /// The widths of `depth` layers; `double` makes a single width double layer after layer.
    pub(crate) fn expand(&self, depth: usize, double: bool, field: &str) -> Result<Vec<usize>> {
        let widths = match self {
            Widths::Same(w) => (0..depth)
                .map(|i| {
                    if double {
                        w.checked_shl(i as u32).unwrap_or(0)
                    } else {
                        *w
                    }
                })
                .collect::<Vec<_>>(),
            Widths::PerLayer(list) if list.len() == depth => list.clone(),
            Widths::PerLayer(list) => {
                return Err(ConfigError::new(
                    field,
                    format!(
                        "lists {} widths but there are {depth} layers; give one per layer or a single number",
                        list.len()
                    ),
                ));
            }
        };
        if widths.contains(&0) || widths.iter().any(|&w| w > 65_536) {
            return Err(ConfigError::new(
                field,
                format!("widths {widths:?} must be between 1 and 65536"),
            ));
        }
        Ok(widths)
    }
}

fn check_dropout(p: f64, field: &str) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format!("{p} is not a probability in [0, 1)"),
        ))
    }
}

impl Activation {
    fn validate(&self, field: &str) -> Result<()> {
        match *self {
            Activation::LeakyRelu(v) | Activation::Elu(v) if !(v.is_finite() && v >= 0.0) => Err(
                ConfigError::new(field, format!("parameter {v} must be a finite number ≥ 0")),
            ),
            _ => Ok(()),
        }
    }
}

impl Init {
    fn validate(&self, field: &str) -> Result<()> {
        match *self {
            Init::Normal(v) | Init::Uniform(v) if !(v.is_finite() && v > 0.0) => Err(
                ConfigError::new(field, format!("scale {v} must be a finite number > 0")),
            ),
            _ => Ok(()),
        }
    }
}

impl MlpConfig {
    /// Hidden widths after validation.
    pub fn hidden_widths(&self) -> Result<Vec<usize>> {
        if self.depth > 64 {
            return Err(ConfigError::new(
                "model.depth",
                format!(
                    "{} hidden layers is beyond the supported 0..=64",
                    self.depth
                ),
            ));
        }
        check_dropout(self.dropout, "model.dropout")?;
        self.activation.validate("model.activation")?;
        self.init.validate("model.init")?;
        self.units.expand(self.depth, false, "model.units")
    }
}

impl CnnConfig {
    /// Checks what needs no data (block and head sizes, kernel, padding, dropout, activation,
    /// init, widths); returns the filters per block. [`Self::plan`] checks the rest against the
    /// image.
    pub fn check(&self) -> Result<Vec<usize>> {
        if self.blocks == 0 || self.blocks > 16 {
            return Err(ConfigError::new(
                "model.blocks",
                format!("{} is not in 1..=16", self.blocks),
            ));
        }
        if self.kernel_size == 0 || self.kernel_size > 15 {
            return Err(ConfigError::new(
                "model.kernel_size",
                format!("{} is not in 1..=15", self.kernel_size),
            ));
        }
        if self.padding == Padding::Same && self.kernel_size % 2 == 0 {
            return Err(ConfigError::new(
                "model.padding",
                format!(
                    "\"same\" padding needs an odd kernel_size, got {}",
                    self.kernel_size
                ),
            ));
        }
        if self.pool_every == 0 {
            return Err(ConfigError::new("model.pool_every", "must be at least 1"));
        }
        if self.head_depth > 16 {
            return Err(ConfigError::new(
                "model.head_depth",
                format!("{} is not in 0..=16", self.head_depth),
            ));
        }
        check_dropout(self.dropout, "model.dropout")?;
        self.activation.validate("model.activation")?;
        self.init.validate("model.init")?;
        let filters = self.filters.expand(self.blocks, true, "model.filters")?;
        self.head_units
            .expand(self.head_depth, false, "model.head_units")?;
        Ok(filters)
    }

    /// Plans the convolution blocks for images of `shape` = `[channels, height, width]`,
    /// rejecting any block that would shrink the image below 1×1.
    pub fn plan(&self, shape: &[usize]) -> Result<ConvPlan> {
        let &[channels, mut height, mut width] = shape else {
            return Err(ConfigError::new(
                "model.kind",
                format!(
                    "a CNN needs image data ([channels, height, width]); this dataset has feature vectors of shape {shape:?}; use kind = \"mlp\""
                ),
            ));
        };
        let filters = self.check()?;
        let mut blocks = Vec::with_capacity(self.blocks);
        let mut out_channels = channels;
        for (i, &f) in filters.iter().enumerate() {
            if self.padding == Padding::Valid {
                height = height.saturating_sub(self.kernel_size - 1);
                width = width.saturating_sub(self.kernel_size - 1);
            }
            let pools = self.pooling != Pooling::None && (i + 1) % self.pool_every == 0;
            if pools {
                height /= 2;
                width /= 2;
            }
            if height == 0 || width == 0 {
                return Err(ConfigError::new(
                    "model.blocks",
                    format!(
                        "block {} shrinks the {}×{} input below 1×1 (kernel_size {}, padding {:?}, pooling {:?}); use fewer blocks, \"same\" padding or less pooling",
                        i + 1,
                        shape[1],
                        shape[2],
                        self.kernel_size,
                        self.padding,
                        self.pooling
                    ),
                ));
            }
            blocks.push((f, pools));
            out_channels = f;
        }
        Ok(ConvPlan {
            blocks,
            flat_features: out_channels * height * width,
        })
    }
}

impl ModelConfig {
    /// Checks what can be checked without a dataset ([`Self::validate`] checks the rest).
    pub fn check(&self) -> Result<()> {
        match self {
            ModelConfig::Mlp(mlp) => mlp.hidden_widths().map(|_| ()),
            ModelConfig::Cnn(cnn) => cnn.check().map(|_| ()),
        }
    }

    /// Checks the configuration against a dataset without building anything.
    pub fn validate(&self, info: &DatasetInfo) -> Result<()> {
        match self {
            ModelConfig::Mlp(mlp) => mlp.hidden_widths().map(|_| ()),
            ModelConfig::Cnn(cnn) => cnn.plan(&info.shape).map(|_| ()),
        }
    }
}

/// Size of the output layer for a dataset: one logit per class, one value for regression.
pub fn output_size(info: &DatasetInfo) -> usize {
    match info.task {
        Task::Classification => info.num_classes(),
        Task::Regression => 1,
    }
}
