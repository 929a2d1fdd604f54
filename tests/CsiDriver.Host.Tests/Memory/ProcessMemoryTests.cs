using CsiDriver.Host.Memory;

namespace CsiDriver.Host.Tests.Memory;

/// <summary>Giving the process's memory back (<see cref="ProcessMemory"/>).</summary>
public sealed class ProcessMemoryTests
{
    [Fact]
    public void Private_file_mappings_are_selected_and_anonymous_shared_and_special_ones_are_not()
    {
        string[] maps =
        [
            "00400000-00405000 r--p 00000000 fd:01 1234                               /app/csi-driver",
            "00405000-013fc000 r-xp 00005000 fd:01 1234                               /app/csi-driver",
            "031c9000-03281000 rw-p 00000000 00:00 0 ",
            "7f0000000000-7f0000021000 r-xp 00000000 fd:01 99                         /usr/lib/x86_64-linux-gnu/libcrypto.so.3",
            "7f1000000000-7f1000001000 rw-s 00000000 00:01 5                          /memfd:dotnet_ipc_created (deleted)",
            "7f2000000000-7f2000001000 rw-s 00000000 fd:01 6                          /var/lib/shared.db",
            "7f3000000000-7f3000001000 rw-p 00000000 00:05 7                          /dev/zero",
            "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]",
            "7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]",
            "7f4000000000-7f4000001000 r--p 00000000 fd:01 8                          /opt/my driver/lib.so",
            "garbage",
        ];

        var mappings = ProcessMemory.PrivateFileMappings(maps).ToList();

        Assert.Equal(
            [(0x400000L, 0x5000L), (0x405000L, 0x13fc000L - 0x405000L), (0x7f0000000000L, 0x21000L), (0x7f4000000000L, 0x1000L)],
            mappings);
    }

    [Fact]
    public void The_running_process_pages_out_its_file_mappings()
    {
        // The test host maps the dotnet host, the runtime and the assemblies: the advice covers some of them.
        Assert.True(ProcessMemory.PageOutFileMappings() > 0);
    }

    [Fact]
    public void A_trim_collects_the_whole_managed_heap_and_reads_the_resident_set_before_and_after()
    {
        var fullCollections = GC.CollectionCount(GC.MaxGeneration);

        var trimmed = new ProcessMemory().Trim();

        Assert.True(GC.CollectionCount(GC.MaxGeneration) > fullCollections);
        Assert.True(trimmed.ResidentBefore > 0);
        Assert.True(trimmed.ResidentAfter > 0);
        Assert.True(trimmed.FilePagesAdvised > 0);
    }
}
