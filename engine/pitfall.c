/*
** pitfall.c -- the pitfalls of a Keras-to-PyTorch port, each declared once.
**
** A pitfall is data: its topic (what check tags and explain teaches), the
** paragraphs that hold for any model, the setting that emulates it in a run
** (key, values, the k2t_emu field it writes) and the commands that show it.
** What a pitfall means for one layer -- the hazard check tells, diff and
** compare print as their diagnosis, export writes as the right code -- is
** computed by engine/diagnose.c from the layer's own op (its weights'
** PyTorch layouts, its module, its window), so that the same sentence and
** the same fix come out of every command, right for every layer kind.
**
** Adding a pitfall: a K2T_PIT_ value in k2t.h, its row here, and (when it
** emulates) its k2t_emu field, read by the ops that it changes.
*/
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

static const char *const layout_names[] = {"nhwc", "nchw"};
static const char *const transpose_names[] = {"on", "off"};
static const char *const bn_mode_names[] = {"eval", "train"};
static const char *const keras_torch[] = {"keras", "torch"};
static const char *const softmax_names[] = {"keep", "drop"};
static const char *const mask_names[] = {"keras", "ignore"};
static const char *const gates_names[] = {"keras", "copied"};
static const char *const rnn_bias_names[] = {"keras", "both"};
static const char *const rnn_last_names[] = {"keras", "output"};
static const char *const rnn_state_names[] = {"keras", "swapped"};

const k2t_pitfall k2t_pitfalls[K2T_PIT_COUNT] = {
    [K2T_PIT_LAYOUT] = {
        .topic = "layout",
        .summary = "Keras tensors are NHWC, PyTorch's NCHW: the input and every axis number must follow.",
        .text =
            "Keras keeps an image batch as (N, H, W, C), channels last. PyTorch's nn.Conv2d, nn.BatchNorm2d\n"
            "and the pooling modules expect (N, C, H, W), channels first. The numbers are the same, in a\n"
            "different order, and neither framework converts between the two for you.\n"
            "\n"
            "An NHWC array fed to a PyTorch model usually fails at the first convolution on the channel\n"
            "count. When the sizes happen to fit, it runs and computes nonsense. Convert the input once,\n"
            "x.permute(0, 3, 1, 2), and keep every tensor NCHW from there on.\n"
            "\n"
            "Every axis number in the Keras model moves with it. The channel axis is -1 in Keras and 1 in\n"
            "PyTorch: Concatenate(axis=-1) on feature maps becomes torch.cat(dim=1), a softmax over\n"
            "channels becomes dim=1, and Permute, Reshape and a Dense on a feature map see the elements\n"
            "in another order. Flatten and the kernels have topics of their own: flatten, transpose.",
        .none = "  no layer whose meaning depends on the layout (no 2-D input, axis or reshape)",
        .k2t =
            "  set layout nchw         run as a PyTorch port does: NCHW tensors, weights in PyTorch's shapes\n"
            "  diff                    done right, it differs from Keras by float rounding only",
        .key = "layout", .values = "nhwc|nchw",
        .help = "Execute in Keras's NHWC, or in NCHW with the weights as PyTorch holds them.",
        .names = layout_names, .n_names = 2, .field = offsetof(k2t_emu, layout),
        .in_profiles = 1,
    },
    [K2T_PIT_TRANSPOSE] = {
        .topic = "transpose",
        .summary = "Conv kernels are HWIO in Keras, OIHW in PyTorch; Dense kernels (in, out) vs (out, in).",
        .text =
            "Keras stores a Conv2D kernel as (kh, kw, in, out). nn.Conv2d holds its weight as (out, in, kh,\n"
            "kw). The conversion is a permutation of axes, torch.from_numpy(kernel).permute(3, 2, 0, 1), not\n"
            "a reshape: a reshape or view to PyTorch's shape keeps the element count, raises no error and\n"
            "scrambles every filter.\n"
            "\n"
            "A Dense kernel is (in, out); nn.Linear's weight is (out, in), so take kernel.T. When in equals\n"
            "out the shapes agree without the transpose and load_state_dict accepts the wrong tensor.\n"
            "\n"
            "Each kind of layer has its own permutation. A DepthwiseConv2D kernel (kh, kw, C, M) becomes\n"
            "nn.Conv2d(C, C*M, k, groups=C) with weight (C*M, 1, kh, kw): .permute(2, 3, 0, 1), then\n"
            ".reshape(C*M, 1, kh, kw) when M > 1 (output channel c*M+m is input channel c's m-th filter,\n"
            "and the bias follows the same order). A Conv1D kernel (k, in, out) takes .permute(2, 1, 0).\n"
            "Conv2DTranspose stores (kh, kw, out, in) and takes permute(3, 2, 0, 1) to reach\n"
            "nn.ConvTranspose2d's (in, out, kh, kw). Biases are 1-D and copy unchanged.",
        .none = "  no convolution or Dense kernel",
        .k2t =
            "  set weights.transpose off   read each Keras kernel buffer in PyTorch's shape, unpermuted\n"
            "  eval cifar FILE             the accuracy of that port\n"
            "  diff                        the first layer that departs from Keras",
        .key = "weights.transpose", .values = "on|off",
        .help = "Permute kernels into PyTorch's layout (on), or read the Keras buffers in PyTorch's shape unpermuted (off).",
        .names = transpose_names, .n_names = 2, .field = offsetof(k2t_emu, no_transpose),
        .in_profiles = 1,
    },
    [K2T_PIT_BN_EPS] = {
        .topic = "bn-eps",
        .summary = "BatchNormalization's epsilon is 1e-3 in Keras, 1e-5 in PyTorch; momentum counts the other way.",
        .text =
            "At inference BatchNormalization computes y = (x - mean) / sqrt(var + eps) * gamma + beta with\n"
            "the stored moving mean and variance. Keras's default eps is 1e-3; nn.BatchNorm2d's is 1e-5.\n"
            "A port that keeps PyTorch's default divides by a slightly smaller number in every channel;\n"
            "the change is largest, relatively, where the variance is small.\n"
            "\n"
            "momentum is counted the other way round. Keras keeps 0.99 of the old running value at each\n"
            "update; PyTorch mixes in 0.1 of the new one. PyTorch's value is 1 - Keras's (0.01 for the\n"
            "default). It changes nothing at inference and everything once you fine-tune.\n"
            "\n"
            "Pass both: nn.BatchNorm2d(C, eps=0.001, momentum=0.01). Keras 2 raises an epsilon below\n"
            "1.001e-5 to 1.001e-5 on 4-D inputs. LayerNormalization has the same trap: 1e-3 in Keras,\n"
            "1e-5 in nn.LayerNorm.",
        .none = "  no BatchNormalization or LayerNormalization layer",
        .k2t =
            "  set bn.eps torch        every BatchNormalization with PyTorch's 1e-5\n"
            "  diff                    how far each layer moves\n"
            "  run, then top           the probabilities it changes",
        .key = "bn.eps", .values = "keras|torch|VALUE [LAYER...]",
        .help = "BatchNormalization epsilon: each layer's own (keras), PyTorch's 1e-5 (torch) or a value; optionally for the named layers only.",
        .in_profiles = 1,
    },
    [K2T_PIT_BN_MODE] = {
        .topic = "bn-mode",
        .summary = "Without model.eval(), PyTorch's BatchNorm uses each batch's own statistics.",
        .text =
            "A PyTorch module starts in training mode. In that mode nn.BatchNorm2d ignores its running mean\n"
            "and variance: it normalises each channel with the mean and variance of the batch in front of\n"
            "it, and updates the running values with them. Keras's predict() always uses the moving\n"
            "statistics stored in the file.\n"
            "\n"
            "A port that forgets model.eval() gives outputs that depend on which images share the batch;\n"
            "a single image is normalised by its own statistics. Each forward pass also overwrites the\n"
            "loaded running values a little, so the model drifts even if eval() comes later. Dropout\n"
            "stays active as well.\n"
            "\n"
            "Call model.eval() before inference. torch.no_grad() saves memory and time but does not change\n"
            "BatchNorm's mode.",
        .k2t =
            "  set bn.mode train       BatchNormalization with the batch's statistics\n"
            "  eval cifar FILE         the accuracy in train mode\n"
            "  diff                    the first layer that departs from Keras",
        .key = "bn.mode", .values = "eval|train",
        .help = "BatchNormalization with the moving statistics (eval) or the batch's own (train: a model left in train mode).",
        .names = bn_mode_names, .n_names = 2, .field = offsetof(k2t_emu, bn_train),
        .in_profiles = 1,
    },
    [K2T_PIT_PADDING] = {
        .topic = "padding",
        .summary = "TF 'same' padding puts the odd pixel at the bottom/right; padding=k//2 pads both sides.",
        .text =
            "TensorFlow computes 'same' padding per axis: out = ceil(in / stride), total = max((out - 1) *\n"
            "stride + k - in, 0), with total // 2 before (top, left) and the rest after (bottom, right). At\n"
            "stride 1 with an odd kernel both sides get k // 2, and nn.Conv2d(padding=k // 2) is exact.\n"
            "\n"
            "At stride 2 on an even size the total is odd for every odd kernel larger than 1: a 3x3\n"
            "kernel on 32 rows needs one row of padding, and TF puts it at the bottom. nn.Conv2d(padding=1)\n"
            "pads one row at the top and one at the bottom. The output has the same size, so nothing\n"
            "complains, but every window sits one pixel higher and one pixel further left than the\n"
            "weights were trained on.\n"
            "\n"
            "Pad explicitly and let the layer pad nothing: x = F.pad(x, (left, right, top, bottom)), then\n"
            "nn.Conv2d(..., stride=2, padding=0). PyTorch's padding='same' refuses stride > 1. Pooling\n"
            "follows the same rule: max pooling pads with -inf (F.pad(..., value=float('-inf'))), and\n"
            "average pooling divides each window by its real cells (count_include_pad=False).",
        .none = "  no 'same' or 'causal' padding, and no ZeroPadding2D that F.pad could misread",
        .k2t =
            "  set padding torch       'same' layers pad k//2 on both sides, average pooling counts the pads\n"
            "  eval cifar FILE         the accuracy of that port\n"
            "  diff                    the first layer that departs from Keras",
        .key = "padding", .values = "keras|torch",
        .help = "'same' padding: TF's (asymmetric at stride 2), or PyTorch's symmetric k//2 with count_include_pad pooling.",
        .names = keras_torch, .n_names = 2, .field = offsetof(k2t_emu, pad_torch),
        .in_profiles = 1,
    },
    [K2T_PIT_FLATTEN] = {
        .topic = "flatten",
        .summary = "Flatten reads H,W,C in Keras and C,H,W in PyTorch; the Dense after it must agree.",
        .text =
            "Keras flattens an (H, W, C) feature map in row-major order: element (h, w, c) lands at index\n"
            "(h*W + w)*C + c. PyTorch's x.flatten(1) on the same map held as (C, H, W) puts it at\n"
            "c*H*W + h*W + w. The vector has the same length, so the next nn.Linear accepts it and\n"
            "multiplies every weight with the wrong feature.\n"
            "\n"
            "Two fixes work. Flatten in Keras's order: x = x.permute(0, 2, 3, 1).flatten(1). Or keep\n"
            "x.flatten(1) and permute the Linear weight's columns once when loading:\n"
            "W[:, c*H*W + h*W + w] = kernel[(h*W + w)*C + c, :]. When H*W is 1 (a global pooling, or a\n"
            "pool down to 1x1, before the Flatten) both orders are the same and nothing needs fixing.",
        .none = "  no Flatten or Reshape of a feature map into a vector",
        .k2t =
            "  set flatten torch       Flatten in C,H,W order, the Dense weights left as they are\n"
            "  diff                    the first layer that departs from Keras",
        .key = "flatten", .values = "keras|torch",
        .help = "Flatten order: HWC as Keras, or CHW feeding the Dense rows unpermuted (torch: the classic port).",
        .names = keras_torch, .n_names = 2, .field = offsetof(k2t_emu, flatten_torch),
        .in_profiles = 1,
    },
    [K2T_PIT_SOFTMAX] = {
        .topic = "softmax",
        .summary = "A softmax inside the last Dense: a port that leaves it to the loss returns logits.",
        .text =
            "Keras models often end in Dense(units, activation='softmax'), so predict() returns\n"
            "probabilities. PyTorch code usually returns logits and lets nn.CrossEntropyLoss apply\n"
            "log-softmax inside the loss. A port that follows the PyTorch habit and drops the softmax\n"
            "returns logits.\n"
            "\n"
            "The argmax does not change, so the accuracy looks right. The numbers are not Keras's: they are\n"
            "not in [0, 1], they do not sum to 1, and every threshold, confidence or comparison with the\n"
            "Keras outputs is off. The opposite mistake happens too: keeping the softmax in forward() and\n"
            "training with nn.CrossEntropyLoss applies it twice.\n"
            "\n"
            "At inference apply torch.softmax(logits, dim=1), or end forward() with it and train with\n"
            "nn.NLLLoss on its log.",
        .none = "  no softmax at the model's output",
        .k2t =
            "  set softmax drop        leave out the final softmax\n"
            "  run, then top           logits instead of probabilities\n"
            "  eval cifar FILE         the same accuracy: the argmax does not change",
        .key = "softmax", .values = "keep|drop",
        .help = "Keep a final softmax, or drop it (a port that leaves it to the loss).",
        .names = softmax_names, .n_names = 2, .field = offsetof(k2t_emu, softmax_drop),
        .in_profiles = 1,
    },
    [K2T_PIT_PREPROCESS] = {
        .topic = "preprocess",
        .summary = "Pixels must be scaled as in training: raw 0..255, /255, [-1, 1] or mean/std.",
        .text =
            "A network only works on inputs scaled the way it was trained. A .h5 file does not record that\n"
            "scaling unless the model contains it (a Rescaling or Normalization layer). Common choices are\n"
            "raw pixels 0..255, x / 255, [-1, 1], and ImageNet mean and std after / 255 (torchvision's\n"
            "transforms.Normalize); Caffe-style models also swap RGB to BGR and subtract channel means.\n"
            "\n"
            "A wrong choice raises no error and gives plausible-looking outputs. Take the scaling from the\n"
            "training script, not from habit: transforms.ToTensor() divides by 255, which is wrong for a\n"
            "model trained on raw pixels.",
        .k2t =
            "  set preprocess unit     pixels divided by 255 (cifar, image and uint8 inputs)\n"
            "  eval cifar FILE         the accuracy with that scaling",
        .key = "preprocess", .values = "raw|unit|symmetric|torch|caffe",
        .help = "Pixel preprocessing for cifar, image and uint8 inputs: raw 0..255, /255, [-1,1], ImageNet mean/std, BGR minus means.",
        .names = k2t_pre_names, .n_names = 5, .field = offsetof(k2t_emu, preprocess),
    },
    [K2T_PIT_INIT] = {
        .topic = "init",
        .summary = "A weight that was never copied keeps PyTorch's random initial values, silently.",
        .text =
            "A PyTorch layer starts with random weights (Kaiming-uniform for nn.Conv2d and nn.Linear), and\n"
            "BatchNorm with weight 1, bias 0, running mean 0 and running variance 1. A layer the copying\n"
            "code never reaches keeps those values: a shortcut convolution missing from the name mapping, a\n"
            "layer renamed between the two models, or load_state_dict(strict=False) skipping keys it does\n"
            "not know. The model runs and is wrong.\n"
            "\n"
            "The same symptom can come from the Keras side: a file saved before training, or a layer left\n"
            "at its initial values. Load with strict=True and compare each tensor's statistics with the\n"
            "Keras file's. A BatchNorm still at 1, 0, 0, 1, or a kernel whose spread matches its\n"
            "initializer's, has never been trained.",
        .k2t =
            "  stats all               every weight tensor, with a '!' line for those that look untrained\n"
            "  stats layer NAME        one layer's tensors\n"
            "  no setting emulates this pitfall",
    },
    [K2T_PIT_RESIDUAL] = {
        .topic = "residual",
        .summary = "Residual blocks: the shortcut (identity or projection), its stride, add then activate.",
        .text =
            "A residual block computes out = act(branch(x) + shortcut(x)). The shortcut is the input itself\n"
            "when the branch keeps the shape, or a projection, usually a 1x1 convolution with the branch's\n"
            "stride, when the branch changes the size or the number of channels.\n"
            "\n"
            "The usual porting mistakes: leaving out the projection, or giving it another stride or\n"
            "padding; applying the activation before the add instead of after it, or to the shortcut as\n"
            "well; and mixing up which layer belongs to which branch, because Keras numbers layers in\n"
            "creation order, not by branch. A missing projection or a wrong stride stops the port with a\n"
            "shape error; the other mistakes run and give other numbers.",
        .k2t =
            "  blocks                  the blocks, their layers and shortcuts\n"
            "  shapes                  the operand shapes of every residual addition\n"
            "  diff                    the first layer that departs from Keras, and so the block\n"
            "  no setting emulates this pitfall",
    },
    [K2T_PIT_ACTIVATION] = {
        .topic = "activation",
        .summary = "An activation Keras defines otherwise than PyTorch's namesake.",
        .text =
            "Most activations mean the same in both frameworks; a few do not. Keras 2's hard_sigmoid is\n"
            "clip(0.2*x + 0.5, 0, 1) while F.hardsigmoid (and Keras 3) use clip(x/6 + 0.5, 0, 1); the\n"
            "activation string 'leaky_relu' has slope 0.2 where nn.LeakyReLU defaults to 0.01; ReLU\n"
            "layers can carry max_value, threshold and negative_slope that nn.ReLU does not have.\n"
            "nn.LSTM and nn.GRU hard-code sigmoid gates and tanh: an LSTM saved by Keras 2.2 or older\n"
            "(recurrent_activation hard_sigmoid, its default then) computes something else in them.\n"
            "\n"
            "Write the Keras formula out where PyTorch's module means something else.",
        .none = "  no activation that PyTorch's namesake computes differently",
        .k2t = "  check                   every such activation with the code that matches Keras\n"
               "  set rnn.activation torch  recurrent layers with nn.LSTM/nn.GRU's sigmoid and tanh",
        .key = "rnn.activation", .values = "keras|torch",
        .help = "Recurrent layers use Keras's activations (hard_sigmoid ...), or nn.LSTM/GRU/RNN's built-in ones.",
        .names = keras_torch, .n_names = 2, .field = offsetof(k2t_emu, rnn_act_torch),
        .in_profiles = 1,
    },
    [K2T_PIT_MASK] = {
        .topic = "mask",
        .summary = "Padding steps Keras's recurrent layers skip and nn.LSTM reads.",
        .text =
            "Keras marks padding steps of a sequence with a mask: Masking(mask_value) marks the steps whose\n"
            "features all equal mask_value, Embedding(mask_zero=True) the ids of 0. The mask follows the\n"
            "sequence through Dense, BatchNormalization, activations and Dropout, and every recurrent layer\n"
            "skips the marked steps: its state carries over, and with return_sequences a marked step\n"
            "repeats the previous output (zeros inside a Bidirectional).\n"
            "\n"
            "nn.LSTM, nn.GRU and nn.RNN have no mask: they read every step, padding included, and the last\n"
            "state of a short sequence is no longer the one Keras returns. Pack the batch with its lengths,\n"
            "nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False), and\n"
            "take h_n; with return_sequences, unpack and repeat or zero the padded steps as Keras does.",
        .none = "  no Masking layer and no Embedding with mask_zero",
        .k2t =
            "  set mask ignore         run as a port without packing does: every step read\n"
            "  diff                    the first recurrent layer after a padded step departs",
        .key = "mask", .values = "keras|ignore",
        .help = "Recurrent layers skip the masked (padding) steps as Keras does, or read them all.",
        .names = mask_names, .n_names = 2, .field = offsetof(k2t_emu, mask_ignore),
        .in_profiles = 1,
    },
    [K2T_PIT_GATES] = {
        .topic = "gates",
        .summary = "A GRU's gate blocks: Keras stores z, r, h; nn.GRU reads r, z, n.",
        .text =
            "A recurrent kernel is k blocks of 'units' columns, one per gate. Keras's LSTM stores i, f, c, o,\n"
            "the order of nn.LSTM's i, f, g, o. Keras's GRU stores z (update), r (reset), h; nn.GRU reads\n"
            "its rows as r, z, n. A GRU copied block for block (transposed, even) runs with the update and\n"
            "reset gates exchanged: no shape complains, and every number is wrong (keras-team/keras#8720).\n"
            "\n"
            "Swap the first two blocks of kernel.T, recurrent_kernel.T and both bias rows; with\n"
            "reset_after (tf.keras's default) bias row 0 goes to bias_ih_l0, row 1 to bias_hh_l0.",
        .none = "  no GRU (an LSTM's gate order is PyTorch's already)",
        .k2t =
            "  set rnn.gates copied    run as a port whose GRU blocks were copied as they are\n"
            "  diff, compare           name the GRU whose gates are exchanged",
        .key = "rnn.gates", .values = "keras|copied",
        .help = "GRU gates as Keras orders them, or copied unreordered into nn.GRU (z and r exchanged).",
        .names = gates_names, .n_names = 2, .field = offsetof(k2t_emu, gates_copied),
        .in_profiles = 1,
    },
    [K2T_PIT_RNN_BIAS] = {
        .topic = "rnn-bias",
        .summary = "One LSTM bias in Keras, two in nn.LSTM; a GRU's two bias rows.",
        .text =
            "nn.LSTM, nn.GRU and nn.RNN add two biases, bias_ih_l0 and bias_hh_l0. Keras's LSTM and\n"
            "SimpleRNN keep one: put it in bias_ih_l0 and zeros in bias_hh_l0. Copied into both, it counts\n"
            "twice. A GRU with reset_after (tf.keras's default) keeps two rows: row 0 (the input's) is\n"
            "bias_ih_l0, row 1 (the recurrent product's, inside the reset gate for n) is bias_hh_l0.",
        .none = "  no LSTM, GRU or SimpleRNN with a bias",
        .k2t =
            "  set rnn.bias both       run as a port that put the bias in both (GRU: row 0 in both)\n"
            "  diff, compare           name the layer whose bias counts twice",
        .key = "rnn.bias", .values = "keras|both",
        .help = "Recurrent biases as Keras has them, or copied into both bias_ih and bias_hh.",
        .names = rnn_bias_names, .n_names = 2, .field = offsetof(k2t_emu, rnn_bias_both),
        .in_profiles = 1,
    },
    [K2T_PIT_RNN_LAST] = {
        .topic = "rnn-last",
        .summary = "A Bidirectional's last state is h_n, not out[:, -1].",
        .text =
            "Without return_sequences a recurrent layer returns its state after the whole sequence. For\n"
            "the forward direction that is out[:, -1] of nn.LSTM/nn.GRU, and also h_n. For the backward\n"
            "half of a Bidirectional it is not: that half reads the sequence from the end, so its state\n"
            "after the whole sequence sits at t = 0, and out[:, -1] holds it after one step only.\n"
            "\n"
            "Take the last states from h_n: torch.cat([h_n[0], h_n[1]], 1) (an LSTM: h_n from (h_n, c_n)).",
        .none = "  no Bidirectional layer that returns only its last state",
        .k2t =
            "  set rnn.last output     run as a port that takes out[:, -1]\n"
            "  diff, compare           name the Bidirectional layer",
        .key = "rnn.last", .values = "keras|output",
        .help = "A Bidirectional's last states as Keras returns them (h_n), or out[:, -1] of the port.",
        .names = rnn_last_names, .n_names = 2, .field = offsetof(k2t_emu, rnn_last_output),
        .in_profiles = 1,
    },
    [K2T_PIT_RNN_STATE] = {
        .topic = "rnn-state",
        .summary = "return_state: Keras's flat [output, h, c], nn.LSTM's (output, (h_n, c_n)).",
        .text =
            "With return_state=True a Keras LSTM returns one flat list, [output, h, c] (a Bidirectional:\n"
            "its output(s), then the forward half's h, c, then the backward half's). nn.LSTM returns\n"
            "(output, (h_n, c_n)), each state (directions, N, units), and takes its initial state the\n"
            "same way: rnn(x, (h0, c0)). A seq2seq port that unpacks the encoder in another order, or\n"
            "hands the decoder (c, h), runs without a complaint: both are (N, units).\n"
            "\n"
            "Take h = h_n[0] and c = c_n[0], and call the decoder with (h[None], c[None]).",
        .none = "  no LSTM that takes an initial_state",
        .k2t =
            "  set rnn.state swapped   run as a port that hands an LSTM (c, h) for (h, c)\n"
            "  diff, compare           name the LSTM started from swapped states",
        .key = "rnn.state", .values = "keras|swapped",
        .help = "An LSTM's initial_state as Keras passes it (h, c), or swapped (c, h) by the port.",
        .names = rnn_state_names, .n_names = 2, .field = offsetof(k2t_emu, rnn_state_swapped),
        .in_profiles = 1,
    },
    [K2T_PIT_UNSUPPORTED] = {
        .topic = "unsupported",
        .summary = "A layer k2t cannot check or run: port it by hand from its config.",
        .text = "k2t names each layer it cannot execute, with the reason; \"info LAYER --json\" shows its config.",
        .k2t = "  info LAYER --json       the layer's config, to port it by hand",
    },
};

const k2t_pitfall *k2t_pitfall_by_topic(const char *topic)
{
    for (int p = 0; p < K2T_PIT_COUNT; p++)
        if (topic && !strcmp(k2t_pitfalls[p].topic, topic)) return &k2t_pitfalls[p];
    return NULL;
}

const k2t_pitfall *k2t_pitfall_by_key(const char *key)
{
    for (int p = 0; p < K2T_PIT_COUNT; p++)
        if (key && k2t_pitfalls[p].key && !strcmp(k2t_pitfalls[p].key, key)) return &k2t_pitfalls[p];
    return NULL;
}

/*--------------------------------------------------------- the settings */

const k2t_emu k2t_emu_keras = {.layout = K2T_LAYOUT_NHWC, .preprocess = K2T_PRE_RAW};

static int *field_of(k2t_emu *e, const k2t_pitfall *P)
{
    return (int *)(void *)((char *)e + P->field);
}

int k2t_emu_int(const k2t_emu *e, k2t_pit p)
{
    const k2t_pitfall *P = &k2t_pitfalls[p];
    if (!P->names) return 0;
    return *field_of((k2t_emu *)e, P);
}

/* bn.eps: keras (0: each layer's own), torch (1e-5) or a value in (0, 1]. */
int k2t_eps_parse(const char *v, double *eps)
{
    char *end;
    if (!strcasecmp(v, "keras")) *eps = 0;
    else if (!strcasecmp(v, "torch")) *eps = 1e-5;
    else {
        *eps = strtod(v, &end);
        if (!*v || *end || !(*eps > 0 && *eps <= 1)) return -1;
    }
    return 0;
}

k2t_status k2t_emu_set(k2t_emu *e, k2t_pit p, const char *v, k2t_err *err)
{
    const k2t_pitfall *P = &k2t_pitfalls[p];
    if (!P->key) return k2t_fail(err, K2T_EARG, "%s has no setting", P->topic);
    if (p == K2T_PIT_BN_EPS) {
        double eps;
        if (k2t_eps_parse(v, &eps) != 0)
            return k2t_fail(err, K2T_EARG, "expected keras, torch or a number in (0, 1], got '%s'", v);
        e->bn_eps = eps;
        return K2T_OK;
    }
    for (int i = 0; i < P->n_names; i++)
        if (!strcasecmp(P->names[i], v)) { /* "NCHW" as "nchw" */
            *field_of(e, P) = i;
            return K2T_OK;
        }
    char list[160] = "";
    size_t w = 0;
    for (int i = 0; i < P->n_names && w < sizeof list; i++)
        w += (size_t)snprintf(list + w, sizeof list - w, "%s%s", i == 0 ? "" : i + 1 == P->n_names ? " or " : ", ",
                              P->names[i]);
    return k2t_fail(err, K2T_EARG, "expected %s, got '%s'", list, v);
}

char *k2t_emu_value(const k2t_emu *e, k2t_pit p, char *buf, size_t n)
{
    const k2t_pitfall *P = &k2t_pitfalls[p];
    buf[0] = '\0';
    if (p == K2T_PIT_BN_EPS) {
        if (e->bn_eps <= 0) snprintf(buf, n, "keras");
        else snprintf(buf, n, "%g", e->bn_eps);
    } else if (P->names) {
        int v = *field_of((k2t_emu *)e, P);
        snprintf(buf, n, "%s", v >= 0 && v < P->n_names ? P->names[v] : "?");
    }
    return buf;
}

int k2t_emu_same(const k2t_emu *a, const k2t_emu *b, k2t_pit p)
{
    if (p == K2T_PIT_BN_EPS) return a->bn_eps == b->bn_eps;
    if (!k2t_pitfalls[p].names) return 1;
    return k2t_emu_int(a, p) == k2t_emu_int(b, p);
}

int k2t_emu_is_keras(const k2t_emu *e, k2t_pit p)
{
    return k2t_emu_same(e, &k2t_emu_keras, p);
}

char *k2t_emu_describe(const k2t_emu *e, int with_input, char *buf, size_t n)
{
    size_t w = 0;
    char v[64];
    buf[0] = '\0';
    for (int p = 0; p < K2T_PIT_COUNT && w < n; p++) {
        const k2t_pitfall *P = &k2t_pitfalls[p];
        if (!P->key || (!P->in_profiles && !with_input)) continue;
        /* layout and preprocess always show; the others when they differ from Keras */
        if (p != K2T_PIT_LAYOUT && P->in_profiles && k2t_emu_is_keras(e, (k2t_pit)p)) continue;
        w += (size_t)snprintf(buf + w, n - w, "%s%s %s", w ? ", " : "", P->key, k2t_emu_value(e, (k2t_pit)p, v, sizeof v));
    }
    return buf;
}
