namespace CsiDriver.Host.Tests.Startup;

/// <summary>Paging out the executable's start-up pages (<see cref="StartupPages"/>).</summary>
public sealed class StartupPagesTests
{
    [Fact]
    public void Only_the_mappings_of_the_executable_are_selected()
    {
        string[] maps =
        [
            "00400000-00405000 r--p 00000000 fd:01 1234                               /app/csi-driver",
            "00405000-013fc000 r-xp 00005000 fd:01 1234                               /app/csi-driver",
            "0202c000-031c9000 rw-p 01c2b000 fd:01 1234                               /app/csi-driver",
            "031c9000-03281000 rw-p 00000000 00:00 0 ",
            "7f0000000000-7f0000021000 r-xp 00000000 fd:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f1000000000-7f1000001000 r--p 00000000 fd:01 77                         /app/csi-driver-other",
            "garbage",
        ];

        var mappings = StartupPages.ImageMappings(maps, "/app/csi-driver").ToList();

        Assert.Equal([(0x400000L, 0x5000L), (0x405000L, 0x13fc000L - 0x405000L), (0x202c000L, 0x31c9000L - 0x202c000L)], mappings);
    }

    [Fact]
    public void A_path_with_spaces_is_matched_whole()
    {
        string[] maps = ["00400000-00401000 r--p 00000000 fd:01 1 /opt/my driver/csi-driver"];

        Assert.Equal([(0x400000L, 0x1000L)], StartupPages.ImageMappings(maps, "/opt/my driver/csi-driver"));
        Assert.Empty(StartupPages.ImageMappings(maps, "/opt/my"));
    }

    [Fact]
    public void The_running_process_pages_out_its_own_executable_mappings()
    {
        // The test host's executable (dotnet) is mapped like the driver's: the advice covers at least one mapping.
        Assert.True(StartupPages.Release() > 0);
    }
}
