// MatMul + Add fusion: a matrix product with constant weights followed by a constant bias becomes one node.
namespace Cortado.Graph.Passes;

/// <summary>
/// Rewrites <c>Add(MatMul(A, B), C)</c> (either operand order of the Add) where B is a constant matrix [K, N], C a
/// constant that broadcasts as a row of N (shape [N], [1, N] or a scalar), and nothing else reads the product:
/// <list type="bullet">
/// <item>A of rank 2 (known statically): <c>Gemm(A, Bᵀ, C)</c> with transB = 1;</item>
/// <item>A of higher or unknown rank: <c>com.cortado.FusedMatMul(A, Bᵀ, c)</c>, y = A·B + c over the last axis.</item>
/// </list>
/// Bᵀ is stored once, contiguous, so the product runs as y = x·Wᵀ + b with the bias written before the GEMM
/// accumulates, the layout of a linear layer. The result equals the unfused graph up to float rounding.
/// </summary>
public sealed class MatMulAddFusion : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "matmul-add-fusion";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int fused = 0;
        // Who reads what, rebuilt only after a rewrite changed it.
        GraphUses? uses = null;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var add = graph.Nodes[i];
            if (add.OpType != "Add" || add.Domain is not ("" or "ai.onnx") || add.Inputs.Count != 2) continue;
            uses ??= new GraphUses(graph);
            for (int side = 0; side < 2; side++)
            {
                var mm = uses.Producer(add.Inputs[side]);
                if (mm is not { OpType: "MatMul", Domain: "" or "ai.onnx" } || !uses.OnlyReadBy(add.Inputs[side], add)) continue;
                var b = uses.Constant(mm.Inputs[1]);
                var c = uses.Constant(add.Inputs[1 - side]);
                if (b is null || c is null || b.Rank != 2 || !b.DType.IsFloating() || c.DType != b.DType) continue;
                int n = b.Shape[1];
                if (!(c.Numel == n && c.Dims.Take(c.Rank - 1).All(d => d == 1)) && c.Numel != 1) continue;
                var aType = graph.TypeOf(mm.Inputs[0]);
                if (aType?.DType is DType adt && adt != b.DType) continue;
                bool rank2 = aType?.Rank == 2;
                string wName = Names.Fresh(graph, (mm.Name.Length > 0 ? mm.Name : "matmul") + "_weight_t");
                graph.Initializers[wName] = b.Transpose(0, 1).Contiguous().Clone();
                string bName = Names.Fresh(graph, (mm.Name.Length > 0 ? mm.Name : "matmul") + "_bias");
                graph.Initializers[bName] = c.Reshape(-1).Expand(n).Contiguous().Clone();
                var attrs = new Dictionary<string, AttrValue>();
                if (rank2) attrs["transB"] = AttrValue.Of(1L);
                var node = new Node(rank2 ? "Gemm" : "FusedMatMul", [mm.Inputs[0], wName, bName], [add.Outputs[0]],
                    mm.Name.Length > 0 ? mm.Name : add.Name, rank2 ? "" : FusedOps.Domain, rank2 ? mm.Version : 1, attrs);
                graph.ValueInfos.Remove(add.Inputs[side]);
                int at = graph.Nodes.IndexOf(mm);
                graph.Nodes[at] = node;
                graph.Nodes.Remove(add);
                i = at;
                fused++;
                uses = null;
                break;
            }
        }
        return fused;
    }
}
