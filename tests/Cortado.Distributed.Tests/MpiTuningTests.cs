// The Open MPI settings Cortado puts in the C environment before MPI starts, unless the user chose them.
using Xunit;

namespace Cortado.Distributed.Tests;

public class MpiTuningTests
{
    [Fact]
    public void SetsTheRingAllreduceInTheCEnvironmentUnlessTheUserChoseOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.WriteLine("skipped: the C environment is set through libc on Linux");
            return;
        }
        const string Name = "OMPI_MCA_coll_libnbc_iallreduce_algorithm";
        string? user = Environment.GetEnvironmentVariable(Name);
        var set = MpiTuning.Apply();
        if (user == null)
        {
            Assert.Contains(Name, set);
            Assert.Equal("1", MpiTuning.NativeValue(Name));
        }
        else
        {
            // A value from the user's environment is kept.
            Assert.DoesNotContain(Name, set);
            Assert.Equal(user, MpiTuning.NativeValue(Name));
        }
        // Applying again changes nothing.
        MpiTuning.Apply();
        Assert.Equal(user ?? "1", MpiTuning.NativeValue(Name));
    }
}
