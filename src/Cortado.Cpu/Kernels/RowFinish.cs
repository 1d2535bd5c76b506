// A convolution's finishing touches in one pass over a row: bias, residual and the common activations.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cortado.Backends;

namespace Cortado.Cpu.Kernels;

/// <summary>
/// row = act((row + bias) + residual) in one vector pass where the activation is none, ReLU or Clip (the activations of
/// ResNet and MobileNet), instead of one pass per term: a convolution finishes its output row by row, and rows of 49 to
/// a few hundred elements made the per-call overhead of separate passes a tenth of MobileNet's time. Each element is
/// the same additions and the same IEEE maximum and minimum (NaN propagating, −0 below +0) as the separate passes
/// (TensorPrimitives.Add, Max, Min), so the bits are theirs; other activations take the separate passes.
/// </summary>
internal static class RowFinish
{
    /// <summary>Finishes <paramref name="row"/>; <paramref name="hasBias"/> false skips the bias, an empty residual skips it.</summary>
    public static void Apply<T>(Span<T> row, bool hasBias, T bias, ReadOnlySpan<T> residual, Activation act)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!residual.IsEmpty && residual.Length != row.Length)
            throw new ArgumentException($"residual of {residual.Length} elements for a row of {row.Length}", nameof(residual));
        if (!Bounds(act, out bool lower, out T lo, out bool upper, out T hi))
        {
            if (hasBias) TensorPrimitives.Add(row, bias, row);
            if (!residual.IsEmpty) TensorPrimitives.Add(row, residual, row);
            act.Apply(row);
            return;
        }
        if (!hasBias && residual.IsEmpty && !lower && !upper) return;
        Run(row, hasBias, bias, residual, lower, lo, upper, hi);
    }

    /// <summary>
    /// The activation as a lower and an upper bound (IEEE maximum, then minimum) when it is none, ReLU or Clip (a NaN
    /// bound is none); false for any other activation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Bounds<T>(Activation act, out bool lower, out T lo, out bool upper, out T hi)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        lo = hi = T.Zero;
        lower = upper = false;
        switch (act.Kind)
        {
            case ActivationKind.None:
                return true;
            case ActivationKind.Relu:
                lower = true;
                return true;
            case ActivationKind.Clip:
                lo = T.CreateChecked(act.P0);
                hi = T.CreateChecked(act.P1);
                lower = !T.IsNaN(lo);
                upper = !T.IsNaN(hi);
                return true;
            default:
                return false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T>(Span<T> row, bool hasBias, T bias, ReadOnlySpan<T> residual, bool lower, T lo, bool upper, T hi)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool withResidual = !residual.IsEmpty;
        ref T y = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
        ref T r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(residual);
        int n = row.Length, i = 0;
        // Widest vectors first, then narrower ones for the rest (31 floats: 16 + 8 + 4, then 3 one at a time).
        bool vectors = VectorPaths.Enabled;
        if (vectors && Vector512.IsHardwareAccelerated)
        {
            Vector512<T> vb = Vector512.Create(bias), vl = Vector512.Create(lo), vh = Vector512.Create(hi);
            for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref y, (nuint)i);
                if (hasBias) v += vb;
                if (withResidual) v += Vector512.LoadUnsafe(ref r, (nuint)i);
                if (lower) v = Vector512.Max(v, vl);
                if (upper) v = Vector512.Min(v, vh);
                v.StoreUnsafe(ref y, (nuint)i);
            }
        }
        if (vectors && Vector256.IsHardwareAccelerated)
        {
            Vector256<T> vb = Vector256.Create(bias), vl = Vector256.Create(lo), vh = Vector256.Create(hi);
            for (; i + Vector256<T>.Count <= n; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref y, (nuint)i);
                if (hasBias) v += vb;
                if (withResidual) v += Vector256.LoadUnsafe(ref r, (nuint)i);
                if (lower) v = Vector256.Max(v, vl);
                if (upper) v = Vector256.Min(v, vh);
                v.StoreUnsafe(ref y, (nuint)i);
            }
        }
        if (vectors && Vector128.IsHardwareAccelerated)
        {
            Vector128<T> vb = Vector128.Create(bias), vl = Vector128.Create(lo), vh = Vector128.Create(hi);
            for (; i + Vector128<T>.Count <= n; i += Vector128<T>.Count)
            {
                var v = Vector128.LoadUnsafe(ref y, (nuint)i);
                if (hasBias) v += vb;
                if (withResidual) v += Vector128.LoadUnsafe(ref r, (nuint)i);
                if (lower) v = Vector128.Max(v, vl);
                if (upper) v = Vector128.Min(v, vh);
                v.StoreUnsafe(ref y, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref y, i);
            if (hasBias) v += bias;
            if (withResidual) v += Unsafe.Add(ref r, i);
            if (lower) v = T.Max(v, lo);
            if (upper) v = T.Min(v, hi);
            Unsafe.Add(ref y, i) = v;
        }
    }
}
