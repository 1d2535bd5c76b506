// One recurrent layer in one direction over a whole sequence (LSTM, GRU, Elman RNN) as a single op with BPTT.
using Cortado.Backends;

namespace Cortado.Ops;

/// <summary>The cell of a recurrent layer.</summary>
public enum RecurrentCell
{
    /// <summary>Elman RNN, h = tanh(W_ih·x + b_ih + W_hh·h + b_hh) (torch.nn.RNN, nonlinearity 'tanh').</summary>
    RnnTanh,
    /// <summary>Elman RNN with max(·, 0) in place of tanh (nonlinearity 'relu').</summary>
    RnnRelu,
    /// <summary>torch.nn.LSTM, gates i, f, g, o.</summary>
    Lstm,
    /// <summary>torch.nn.GRU, gates r, z, n.</summary>
    Gru,
}

/// <summary>
/// One layer of a recurrent network in one direction over a whole sequence, as torch.nn.RNN/LSTM/GRU compute
/// it. Inputs: x [T, B, I], h0 [B, H], c0 [B, H] (LSTM only), W_ih [G·H, I], W_hh [G·H, H], then b_ih and
/// b_hh [G·H] when the layer has biases (G = 4 for LSTM, 3 for GRU, 1 for RNN). Output [T + S, B, H]:
/// rows 0…T−1 hold h_t in time order (also when <c>reverse</c> runs the recurrence from t = T−1 down to 0),
/// row T holds the final h, and for LSTM row T + 1 the final c (S = 2 for LSTM, else 1).
/// <para>
/// Forward computes the input projection of all steps as one GEMM ([T·B, I]·W_ihᵀ plus the biases), then per
/// step one GEMM h·W_hhᵀ and one fused gate kernel of the backend; it keeps the gate activations (and the LSTM
/// cell states, or GRU's W_hh·h + b_hh) for the backward pass. Backward runs BPTT in one loop (fused gate
/// gradient, one GEMM dgates·W_hh per step), then forms dx, dW_ih, dW_hh and the bias gradients as GEMMs over
/// all steps at once. The gradient is not itself differentiable (no double backward).
/// </para>
/// </summary>
public sealed class RecurrentLayerOp(RecurrentCell cell, bool reverse, bool hasBias) : Op
{
    private Tensor? _gates; // [T, B, G·H] gate activations
    private Tensor? _aux;   // LSTM: cell states c_t [T, B, H]; GRU: W_hh·h_{t−1} + b_hh [T, B, 3H]

    /// <inheritdoc />
    public override string Name => cell switch
    {
        RecurrentCell.Lstm => "lstm",
        RecurrentCell.Gru => "gru",
        RecurrentCell.RnnRelu => "rnn_relu",
        _ => "rnn_tanh",
    };

    /// <summary>Gates per hidden unit: 4 (LSTM), 3 (GRU) or 1.</summary>
    public int GateCount => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    private bool IsLstm => cell == RecurrentCell.Lstm;
    private int WIh => IsLstm ? 3 : 2;
    private int InputCount => WIh + 2 + (hasBias ? 2 : 0);

    /// <inheritdoc />
    public override int[] InferShape(int[][] s)
    {
        if (s.Length != InputCount)
            throw new ShapeMismatchException($"{Where}: expected {InputCount} inputs (x, h0{(IsLstm ? ", c0" : "")}, W_ih, W_hh{(hasBias ? ", b_ih, b_hh" : "")}), got {s.Length}");
        var x = s[0];
        var h0 = s[1];
        if (x.Length != 3) throw new ShapeMismatchException($"{Where}: input must be 3-D [T, B, I], got {ShapeUtil.Format(x)}");
        if (h0.Length != 2 || h0[0] != x[1])
            throw new ShapeMismatchException($"{Where}: initial hidden state must be [B, H] with B = {x[1]} (input {ShapeUtil.Format(x)}), got {ShapeUtil.Format(h0)}");
        int hid = h0[1], gh = GateCount * hid;
        if (IsLstm && !ShapeUtil.Equal(s[2], h0))
            throw new ShapeMismatchException($"{Where}: initial cell state {ShapeUtil.Format(s[2])} must match the hidden state {ShapeUtil.Format(h0)}");
        int w = WIh;
        if (s[w].Length != 2 || s[w][0] != gh || s[w][1] != x[2])
            throw new ShapeMismatchException($"{Where}: W_ih must be [{gh}, {x[2]}] for input {ShapeUtil.Format(x)} and hidden size {hid}, got {ShapeUtil.Format(s[w])}");
        if (s[w + 1].Length != 2 || s[w + 1][0] != gh || s[w + 1][1] != hid)
            throw new ShapeMismatchException($"{Where}: W_hh must be [{gh}, {hid}], got {ShapeUtil.Format(s[w + 1])}");
        if (hasBias)
            for (int k = w + 2; k < w + 4; k++)
                if (s[k].Length != 1 || s[k][0] != gh)
                    throw new ShapeMismatchException($"{Where}: bias must be [{gh}], got {ShapeUtil.Format(s[k])}");
        return [x[0] + (IsLstm ? 2 : 1), x[1], hid];
    }

    private DType ComputeType(Tensor[] inputs)
    {
        var dt = inputs[0].DType;
        if (dt is not (DType.Float32 or DType.Float64))
            throw new DTypeMismatchException($"{Where}: input must be float32 or float64, got {dt.Name()}");
        for (int i = 1; i < inputs.Length; i++)
            if (inputs[i].DType != dt)
                throw new DTypeMismatchException($"{Where}: input {i} is {inputs[i].DType.Name()} but x is {dt.Name()}; all operands must share one dtype");
        return dt;
    }

    // The sequence, initial states and weights, contiguous: x, h0, c0 (LSTM only), W_ih, W_hh.
    private (Tensor x, Tensor h0, Tensor? c0, Tensor wih, Tensor whh) Operands(Tensor[] inputs) =>
        (inputs[0].Contiguous(), inputs[1].Contiguous(), IsLstm ? inputs[2].Contiguous() : null,
         inputs[WIh].Contiguous(), inputs[WIh + 1].Contiguous());

    // Row t of a [T, B, width] buffer as a contiguous [B, width] view.
    private static Tensor Row(Tensor buf, int t, int batch, int width) =>
        new(buf.Storage, [batch, width], [width, 1], buf.Offset + t * batch * width);

    /// <inheritdoc />
    public override Tensor Forward(Tensor[] inputs)
    {
        var shape = InferShape(inputs.Select(t => t.Dims).ToArray());
        var dt = ComputeType(inputs);
        var be = Backend.Current;
        var (x, h0, c0, wih, whh) = Operands(inputs);
        int T = x.Size(0), B = x.Size(1), I = x.Size(2), H = h0.Size(1), G = GateCount, GH = G * H;
        var y = Tensor.Empty(dt, shape);
        var gates = Tensor.Empty(dt, T, B, GH);
        _gates = gates;

        // Input projection of every step at once. LSTM and RNN add b_hh here too; GRU keeps b_hh inside r·(W_hn·h + b_hn).
        if (hasBias)
        {
            var bias = cell == RecurrentCell.Gru ? inputs[WIh + 2] : inputs[WIh + 2].Add(inputs[WIh + 3]);
            be.Copy(bias.Expand(T, B, GH), gates);
        }
        if (T * B > 0 && GH > 0)
            be.Gemm(false, true, T * B, GH, I, 1, x, I, 0, wih, I, 0, hasBias ? 1 : 0, gates, GH, 0, 1);

        Tensor? ghAll = null, cells = null;
        if (cell == RecurrentCell.Gru) ghAll = _aux = Tensor.Empty(dt, T, B, GH);
        if (IsLstm) cells = _aux = Tensor.Empty(dt, T, B, H);
        var bhh = hasBias && cell == RecurrentCell.Gru ? inputs[WIh + 3].Contiguous() : null;

        var hPrev = h0;
        var cPrev = c0;
        for (int s = 0; s < T; s++)
        {
            int t = reverse ? T - 1 - s : s;
            var g = Row(gates, t, B, GH);
            var h = Row(y, t, B, H);
            switch (cell)
            {
                case RecurrentCell.Lstm:
                    be.Gemm(false, true, B, GH, H, 1, hPrev, H, 0, whh, H, 0, 1, g, GH, 0, 1);
                    var c = Row(cells!, t, B, H);
                    be.LstmCellForward(g, cPrev!, c, h);
                    cPrev = c;
                    break;
                case RecurrentCell.Gru:
                    var gh = Row(ghAll!, t, B, GH);
                    if (bhh != null) be.Copy(bhh.Expand(B, GH), gh);
                    be.Gemm(false, true, B, GH, H, 1, hPrev, H, 0, whh, H, 0, bhh != null ? 1 : 0, gh, GH, 0, 1);
                    be.GruCellForward(g, gh, hPrev, h);
                    break;
                default:
                    be.Gemm(false, true, B, GH, H, 1, hPrev, H, 0, whh, H, 0, 1, g, GH, 0, 1);
                    be.RnnCellForward(cell == RecurrentCell.RnnRelu, g, h);
                    break;
            }
            hPrev = h;
        }
        be.Copy(hPrev, Row(y, T, B, H));
        if (IsLstm) be.Copy(cPrev!, Row(y, T + 1, B, H));
        return y;
    }

    /// <inheritdoc />
    public override Tensor?[] Backward(Tensor[] inputs, Tensor output, Tensor gradOutput)
    {
        var gates = _gates ?? throw new CortadoException($"{Where}: backward before forward");
        var dt = output.DType;
        var be = Backend.Current;
        var (x, h0, c0, wih, whh) = Operands(inputs);
        var gy = gradOutput.Cast(dt).Contiguous();
        int T = x.Size(0), B = x.Size(1), I = x.Size(2), H = h0.Size(1), G = GateCount, GH = G * H;

        var dGx = Tensor.Empty(dt, T, B, GH);
        var dGh = cell == RecurrentCell.Gru ? Tensor.Empty(dt, T, B, GH) : dGx;
        var dhNext = Row(gy, T, B, H).Clone();
        var dc = IsLstm ? Row(gy, T + 1, B, H).Clone() : null;
        var dh = Tensor.Empty(dt, B, H);
        for (int s = T - 1; s >= 0; s--)
        {
            int t = reverse ? T - 1 - s : s;
            bool first = s == 0;
            var hPrev = first ? h0 : Row(output, reverse ? t + 1 : t - 1, B, H);
            be.Binary(BinaryKind.Add, Row(gy, t, B, H), dhNext, dh);
            var dgx = Row(dGx, t, B, GH);
            switch (cell)
            {
                case RecurrentCell.Lstm:
                    var cPrev = first ? c0! : Row(_aux!, reverse ? t + 1 : t - 1, B, H);
                    be.LstmCellBackward(Row(gates, t, B, GH), cPrev, Row(_aux!, t, B, H), dh, dc!, dgx);
                    be.Gemm(false, false, B, H, GH, 1, dgx, GH, 0, whh, H, 0, 0, dhNext, H, 0, 1);
                    break;
                case RecurrentCell.Gru:
                    var dgh = Row(dGh, t, B, GH);
                    be.GruCellBackward(Row(gates, t, B, GH), Row(_aux!, t, B, GH), hPrev, dh, dgx, dgh, dhNext);
                    be.Gemm(false, false, B, H, GH, 1, dgh, GH, 0, whh, H, 0, 1, dhNext, H, 0, 1);
                    break;
                default:
                    be.RnnCellBackward(cell == RecurrentCell.RnnRelu, Row(output, t, B, H), dh, dgx);
                    be.Gemm(false, false, B, H, GH, 1, dgx, GH, 0, whh, H, 0, 0, dhNext, H, 0, 1);
                    break;
            }
        }

        var grads = new Tensor?[inputs.Length];
        if (inputs[0].RequiresGrad)
        {
            var dx = Tensor.Zeros([T, B, I], dt);
            if (T * B > 0 && I > 0 && GH > 0) be.Gemm(false, false, T * B, I, GH, 1, dGx, GH, 0, wih, I, 0, 0, dx, I, 0, 1);
            grads[0] = dx;
        }
        grads[1] = inputs[1].RequiresGrad ? dhNext : null;
        if (IsLstm) grads[2] = inputs[2].RequiresGrad ? dc : null;
        if (inputs[WIh].RequiresGrad)
        {
            var dw = Tensor.Zeros([GH, I], dt);
            if (T * B > 0 && I > 0 && GH > 0) be.Gemm(true, false, GH, I, T * B, 1, dGx, GH, 0, x, I, 0, 0, dw, I, 0, 1);
            grads[WIh] = dw;
        }
        if (inputs[WIh + 1].RequiresGrad)
        {
            // dW_hh = Σ_t dGh_tᵀ·h_{t−1}: the step that read h0 separately, the others as one GEMM against the
            // output rows, which hold h_{t−1} contiguously (shifted by one row in the direction of the recurrence).
            var dw = Tensor.Zeros([GH, H], dt);
            if (T > 0 && B > 0 && GH > 0 && H > 0)
            {
                int t0 = reverse ? T - 1 : 0;
                be.Gemm(true, false, GH, H, B, 1, Row(dGh, t0, B, GH), GH, 0, h0, H, 0, 0, dw, H, 0, 1);
                if (T > 1)
                {
                    var dgRest = Row(dGh, reverse ? 0 : 1, B, GH);
                    var hRest = Row(output, reverse ? 1 : 0, B, H);
                    be.Gemm(true, false, GH, H, (T - 1) * B, 1, dgRest, GH, 0, hRest, H, 0, 1, dw, H, 0, 1);
                }
            }
            grads[WIh + 1] = dw;
        }
        if (hasBias)
        {
            // Column sums as GEMMs with a row of ones: a fixed summation order, whatever the thread count.
            var ones = Tensor.Ones([1, T * B], dt);
            if (inputs[WIh + 2].RequiresGrad) grads[WIh + 2] = ColumnSums(be, ones, dGx, T * B, GH, dt);
            if (inputs[WIh + 3].RequiresGrad)
                grads[WIh + 3] = ReferenceEquals(dGh, dGx) && grads[WIh + 2] is Tensor db ? db.Clone() : ColumnSums(be, ones, dGh, T * B, GH, dt);
        }
        return grads;
    }

    private static Tensor ColumnSums(IBackend be, Tensor ones, Tensor m, int rows, int cols, DType dt)
    {
        var r = Tensor.Zeros([cols], dt);
        if (rows > 0 && cols > 0) be.Gemm(false, false, 1, cols, rows, 1, ones, rows, 0, m, cols, 0, 0, r, cols, 0, 1);
        return r;
    }
}
