// The device contract: the small set of primitive kernels every backend implements.
namespace Cortado.Backends;

/// <summary>Element-wise functions of one tensor. <c>alpha</c>/<c>beta</c> are the parameters named in each entry.</summary>
public enum UnaryKind
{
    /// <summary>y = -x</summary>
    Neg,
    /// <summary>y = |x|</summary>
    Abs,
    /// <summary>y = exp(x)</summary>
    Exp,
    /// <summary>y = ln(x); ln(0) = -∞, ln(x&lt;0) = NaN</summary>
    Log,
    /// <summary>y = √x</summary>
    Sqrt,
    /// <summary>y = 1/√x</summary>
    Rsqrt,
    /// <summary>y = sin(x)</summary>
    Sin,
    /// <summary>y = cos(x)</summary>
    Cos,
    /// <summary>y = tanh(x)</summary>
    Tanh,
    /// <summary>y = 1/(1+exp(-x))</summary>
    Sigmoid,
    /// <summary>y = max(x, 0); NaN stays NaN</summary>
    Relu,
    /// <summary>y = x·Φ(x) with Φ the standard normal CDF (exact erf form, PyTorch's default)</summary>
    Gelu,
    /// <summary>y = erf(x)</summary>
    Erf,
    /// <summary>y = sign(x) ∈ {-1, 0, 1}; NaN stays NaN</summary>
    Sign,
    /// <summary>y = ⌊x⌋</summary>
    Floor,
    /// <summary>y = ⌈x⌉</summary>
    Ceil,
    /// <summary>y = round half to even</summary>
    Round,
    /// <summary>y = 1/x</summary>
    Reciprocal,
    /// <summary>y = x·x</summary>
    Square,
    /// <summary>y = x if x ≥ 0 else alpha·x</summary>
    LeakyRelu,
    /// <summary>y = min(max(x, alpha), beta); NaN stays NaN</summary>
    Clamp,
    /// <summary>y = x^alpha</summary>
    PowScalar,
    /// <summary>y = x + alpha</summary>
    AddScalar,
    /// <summary>y = x · alpha</summary>
    MulScalar,
    /// <summary>y = !x (bool only)</summary>
    Not,
    /// <summary>y = ln(1 + exp(x)), computed without overflow</summary>
    Softplus,
    /// <summary>y = 1 if x is NaN (output bool)</summary>
    IsNaN,
}

/// <summary>Element-wise functions of two tensors of the same dtype.</summary>
public enum BinaryKind
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum,
    /// <summary>Comparisons: output is bool.</summary>
    Eq, Ne, Lt, Le, Gt, Ge,
    /// <summary>Logical ops on bool.</summary>
    And, Or, Xor,
    /// <summary>
    /// The gradient of ReLU in one pass: y = b &gt; 0 ? a : a·0, with a the output gradient and b the ReLU's input
    /// (the bits of a·(b &gt; 0 as 0 or 1)). Floating point only.
    /// </summary>
    ReluGrad,
}

/// <summary>Reductions over a set of axes.</summary>
public enum ReduceKind
{
    Sum, Prod, Max, Min,
    /// <summary>Index (int64) of the first maximum along the single reduced axis.</summary>
    ArgMax,
    /// <summary>Index (int64) of the first minimum along the single reduced axis.</summary>
    ArgMin,
}

/// <summary>Geometry of a 2-D convolution or pooling window (NCHW).</summary>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W,
    int OutC, int KH, int KW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups)
{
    /// <summary>Output height.</summary>
    public int OutH => (H + 2 * PadH - DilationH * (KH - 1) - 1) / StrideH + 1;

    /// <summary>Output width.</summary>
    public int OutW => (W + 2 * PadW - DilationW * (KW - 1) - 1) / StrideW + 1;
}

/// <summary>
/// Primitive kernels of one device. Ops in the catalogue are written in terms of these; everything else
/// composes. Unless a member says otherwise: output tensors are preallocated by the caller with the
/// right shape and dtype and are contiguous; inputs may be any strided view; compute dtypes are
/// float32 and float64 (integer and bool where the entry says so). A member that cannot serve a dtype
/// throws <see cref="MissingKernelException"/> naming op, dtype and backend.
/// </summary>
public interface IBackend
{
    /// <summary>Backend name, e.g. "cpu".</summary>
    string Name { get; }

    /// <summary>y = f(x) element-wise; x and y have equal shapes; dtypes float32/float64 (Neg, Abs, Sign, Square, Clamp, AddScalar, MulScalar, Max also int32/int64; Not: bool; IsNaN: bool output).</summary>
    void Unary(UnaryKind op, Tensor x, Tensor y, double alpha = 0, double beta = 0);

    /// <summary>y = f(a, b) element-wise; a and b are already broadcast (expanded, possibly 0-stride) to y's shape and share one dtype (float32/float64/int32/int64; bool for logical ops and Eq/Ne); comparisons write bool.</summary>
    void Binary(BinaryKind op, Tensor a, Tensor b, Tensor y);

    /// <summary>y = cond ? a : b; all three already broadcast to y's shape; cond is bool.</summary>
    void Where(Tensor cond, Tensor a, Tensor b, Tensor y);

    /// <summary>Reduces x over <paramref name="axes"/> (sorted, distinct); y has x's shape with those axes set to 1. ArgMax/ArgMin take one axis and write int64.</summary>
    void Reduce(ReduceKind op, Tensor x, int[] axes, Tensor y);

    /// <summary>dst = src, element-wise with conversion between any two dtypes (float→int truncates toward zero, x→bool is x≠0); both may be any strided view of equal shape.</summary>
    void Copy(Tensor src, Tensor dst);

    /// <summary>Sets every element of contiguous <paramref name="dst"/> to <paramref name="value"/> (converted to its dtype).</summary>
    void Fill(Tensor dst, double value);

    /// <summary>
    /// Batched GEMM, BLAS conventions, row-major: for each b in [0, batch):
    /// C_b = alpha·op(A_b)·op(B_b) + beta·C_b with op(A_b) M×K and op(B_b) K×N. Element (i, j) of A_b is
    /// a.Storage[a.Offset + b·strideA + i·lda + j] before transposition (likewise B, C). C is written in
    /// place. Float32 and float64. An <paramref name="activation"/> is applied to each block of C as it is finished
    /// (a fused epilogue, the bits of applying it to the finished C); it takes one matrix (batch 1).
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
              Tensor a, int lda, int strideA, Tensor b, int ldb, int strideB,
              double beta, Tensor c, int ldc, int strideC, int batch, Activation activation = default);

    /// <summary>
    /// 2-D convolution (cross-correlation) of contiguous x [N,C,H,W] with contiguous w [OutC, C/groups, KH, KW], plus
    /// bias [OutC] when given, into y [N,OutC,OutH,OutW]; then a contiguous <paramref name="residual"/> of y's shape is
    /// added when given (a skip connection) and <paramref name="activation"/> applied, to each block of y as it is
    /// finished (the same bits as adding the residual to the whole of y and then applying
    /// <see cref="Activation.Apply{T}"/>). Every element of y is written; its previous contents are never read. The
    /// residual must not share memory with y.
    /// </summary>
    void Conv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g, Activation activation = default, Tensor? residual = null);

    /// <summary>dx = gradient of Conv2d with respect to x, given dy and w (dx overwritten).</summary>
    void Conv2dBackwardInput(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g);

    /// <summary>dw = gradient of Conv2d with respect to w, given x and dy (dw overwritten).</summary>
    void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Conv2dGeometry g);

    /// <summary>
    /// Batch normalisation in training mode over contiguous x [N, C, …] (statistics per channel over the N·S values of
    /// the other dims): mean[c] and biased var[c] (float64 [C]), then y = (x − mean)·γ/√(var + eps) + β. Float32 and
    /// float64; γ, β and y share x's dtype. Each channel is one thread's work, so the bits do not depend on the thread
    /// count.
    /// </summary>
    void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y, Tensor mean, Tensor var);

    /// <summary>
    /// Gradients of <see cref="BatchNormForward"/> given dy and the saved mean and var: dβ = Σ dy, dγ = Σ dy·x̂ and
    /// dx = γ/√(var + eps)·(dy − dβ/n − x̂·dγ/n) with x̂ = (x − mean)/√(var + eps). dx, dgamma and dbeta are
    /// overwritten; dgamma or dbeta may be null when not wanted.
    /// </summary>
    void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dx, Tensor? dgamma, Tensor? dbeta);

    /// <summary>Max pooling of contiguous x [N,C,H,W] into y [N,C,OutH,OutW] with the flat H·W index of each maximum in indices (int64; null when not wanted). Padding counts as -∞. OutC = C, Groups = C.</summary>
    void MaxPool2d(Tensor x, Tensor y, Tensor? indices, Conv2dGeometry g);

    /// <summary>dx (zeroed first) += dy routed to the recorded indices.</summary>
    void MaxPool2dBackward(Tensor dy, Tensor indices, Tensor dx, Conv2dGeometry g);

    /// <summary>Average pooling; the divisor counts padded positions when <paramref name="countIncludePad"/>.</summary>
    void AvgPool2d(Tensor x, Tensor y, Conv2dGeometry g, bool countIncludePad);

    /// <summary>dx (overwritten) = gradient of AvgPool2d given dy.</summary>
    void AvgPool2dBackward(Tensor dy, Tensor dx, Conv2dGeometry g, bool countIncludePad);

    /// <summary>Softmax (or log-softmax when <paramref name="log"/>) of contiguous x along <paramref name="axis"/> into y, computed stably (max subtracted).</summary>
    void Softmax(Tensor x, Tensor y, int axis, bool log);

    /// <summary>dx = gradient of Softmax/LogSoftmax given its output y and dy (all contiguous).</summary>
    void SoftmaxBackward(Tensor y, Tensor dy, Tensor dx, int axis, bool log);

    /// <summary>y = x.index_select(axis, index): index is a contiguous int64 1-D tensor; x contiguous; negative or out-of-range indices throw naming the index.</summary>
    void IndexSelect(Tensor x, int axis, Tensor index, Tensor y);

    /// <summary>dst.index_add_(axis, index, src): dst[…, index[i], …] += src[…, i, …]; dst and src contiguous.</summary>
    void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src);

    /// <summary>y = torch.gather(x, axis, index): y[i][j][k] = x[i][index[i][j][k]][k] for axis 1; index int64 of y's shape; all contiguous.</summary>
    void Gather(Tensor x, int axis, Tensor index, Tensor y);

    /// <summary>dst.scatter_add_(axis, index, src); all contiguous; index has src's shape.</summary>
    void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src);

    /// <summary>
    /// One LSTM time step over a batch (torch.nn.LSTM, gate order i, f, g, o). On entry
    /// <paramref name="gates"/> [B, 4H] holds the pre-activations W_ih·x + b_ih + W_hh·h + b_hh; on return it
    /// holds the activations i = σ, f = σ, g = tanh, o = σ of them (kept for the backward pass), and
    /// c = f·cPrev + i·g, h = o·tanh(c) are written to <paramref name="c"/> and <paramref name="h"/> [B, H].
    /// All contiguous, one floating dtype; NaN propagates.
    /// </summary>
    void LstmCellForward(Tensor gates, Tensor cPrev, Tensor c, Tensor h);

    /// <summary>
    /// Gradient of <see cref="LstmCellForward"/>: given the activations <paramref name="gates"/> [B, 4H],
    /// cPrev and c [B, H], the gradient dh on h and dc on c (from the next step), writes the gradient of the
    /// four pre-activations to <paramref name="dGates"/> [B, 4H] and overwrites <paramref name="dc"/> with the
    /// gradient on cPrev (dc·f). With τ = tanh(c): dc ← dc + dh·o·(1−τ²); d(i,f,g,o) = (dc·g·i(1−i), dc·cPrev·f(1−f),
    /// dc·i·(1−g²), dh·τ·o(1−o)). All contiguous.
    /// </summary>
    void LstmCellBackward(Tensor gates, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dGates);

    /// <summary>
    /// One GRU time step (torch.nn.GRU, gate order r, z, n). <paramref name="gx"/> [B, 3H] holds W_ih·x + b_ih and
    /// <paramref name="gh"/> [B, 3H] holds W_hh·hPrev + b_hh (left unchanged). Computes r = σ(gx_r + gh_r),
    /// z = σ(gx_z + gh_z), n = tanh(gx_n + r·gh_n), h = (hPrev − n)·z + n = (1−z)·n + z·hPrev; writes r, z, n over gx
    /// and h to <paramref name="h"/> [B, H]. All contiguous.
    /// </summary>
    void GruCellForward(Tensor gx, Tensor gh, Tensor hPrev, Tensor h);

    /// <summary>
    /// Gradient of <see cref="GruCellForward"/> given the activations <paramref name="gates"/> (r, z, n) [B, 3H],
    /// gh [B, 3H], hPrev and dh [B, H]: dGx [B, 3H] = gradient on gx, dGh [B, 3H] = gradient on gh (equal to dGx
    /// except in the n block, dGh_n = dGx_n·r), dhPrev [B, H] = dh·z (the direct path only; the caller adds dGh·W_hh).
    /// </summary>
    void GruCellBackward(Tensor gates, Tensor gh, Tensor hPrev, Tensor dh, Tensor dGx, Tensor dGh, Tensor dhPrev);

    /// <summary>Elman RNN step: h = tanh(gates) (or max(gates, 0) when <paramref name="relu"/>) for gates and h [B, H]; contiguous.</summary>
    void RnnCellForward(bool relu, Tensor gates, Tensor h);

    /// <summary>Gradient of <see cref="RnnCellForward"/> from its output: dGates = dh·(1−h²) (tanh) or dh·[h &gt; 0] (relu).</summary>
    void RnnCellBackward(bool relu, Tensor h, Tensor dh, Tensor dGates);

    /// <summary>
    /// One fused Adam update (torch.optim.Adam without weight decay or amsgrad), element-wise and in place on
    /// <paramref name="param"/>, <paramref name="expAvg"/> (m) and <paramref name="expAvgSq"/> (v), all contiguous
    /// with <paramref name="grad"/> (g) and of one float dtype; scalars are converted to that dtype first:
    /// m ← m·β₁ + g·(1−β₁); v ← v·β₂ + (g·g)·(1−β₂); p ← p − (m / (√v·<paramref name="invSqrtBc2"/> + ε))·<paramref name="stepSize"/>,
    /// with stepSize = lr/(1−β₁ᵗ) and invSqrtBc2 = 1/√(1−β₂ᵗ). The operations and their order are those of the
    /// same formula written with tensor ops, so both give identical results.
    /// </summary>
    void AdamUpdate(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double beta1, double beta2, double eps, double invSqrtBc2, double stepSize);

    /// <summary>
    /// One fused SGD-with-momentum update in place (torch.optim.SGD, no Nesterov, no weight decay), all contiguous:
    /// b ← b·μ + g·(1 − dampening); p ← p − b·lr (scalars converted to the dtype first).
    /// </summary>
    void SgdMomentumUpdate(Tensor param, Tensor grad, Tensor buffer, double lr, double momentum, double dampening);
}
