using System.Globalization;

namespace CsiDriver.Mounter.Tests.Support;

/// <summary>The effective capabilities of this test process (containers may drop some even for root).</summary>
public static class ProcessCapabilities
{
    private const int CapSysResource = 24;

    /// <summary>The kernel grows a mounted ext filesystem only for a caller holding CAP_SYS_RESOURCE.</summary>
    public static bool CanGrowExtOnline => Has(CapSysResource);

    private static bool Has(int capability)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        var mask = ulong.Parse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (mask & (1UL << capability)) != 0;
    }
}
