namespace CsiDriver.Cloud.Aws.Limits;

/// <summary>
/// How many EBS volumes the driver may attach to an instance type (NodeGetInfo's max_volumes_per_node).
/// <list type="bullet">
/// <item>Most Nitro instances share 28 attachment slots between EBS volumes, network interfaces and NVMe
/// instance-store disks: 28 less the ENIs, the instance-store disks and the EBS volumes that are not ours
/// (root and other launch volumes).</item>
/// <item>Newer families have a dedicated EBS limit that ENIs and instance store do not consume.</item>
/// <item>Xen instances are limited by device naming, not slots; Kubernetes has always used 39.</item>
/// </list>
/// The table covers common families; anything unknown is treated as shared-slot Nitro (the safe choice).
/// --volume-attach-limit overrides all of it.
/// </summary>
public static class InstanceAttachLimits
{
    public const int NitroSharedSlots = 28;
    public const int XenLimit = 39;

    private static readonly HashSet<string> XenFamilies = new(StringComparer.Ordinal)
    {
        "t1", "t2", "m1", "m2", "m3", "m4", "c1", "c3", "c4", "r3", "r4", "i2", "i3", "x1", "x1e", "d2", "g2", "g3", "g3s",
        "p2", "p3", "h1", "f1", "cr1", "hs1", "cc2",
    };

    /// <summary>Families whose EBS attachments have their own limit, not shared with ENIs or instance store.</summary>
    private static readonly HashSet<string> DedicatedFamilies = new(StringComparer.Ordinal)
    {
        "c7a", "c7i", "c7i-flex", "m7a", "m7i", "m7i-flex", "r7a", "r7i", "r7iz", "c8g", "m8g", "r8g", "x8g",
        "c8gd", "m8gd", "r8gd", "i7i", "i7ie", "c8i", "m8i", "r8i", "u7i",
    };

    /// <summary>The attach limit for volumes of this driver.</summary>
    /// <param name="instanceType">e.g. m5.large; null when unknown.</param>
    /// <param name="networkInterfaces">ENIs attached to the instance.</param>
    /// <param name="instanceStoreDisks">NVMe instance-store disks.</param>
    /// <param name="otherEbsVolumes">EBS volumes that are not this driver's (the root volume at least).</param>
    public static int For(string? instanceType, int networkInterfaces, int instanceStoreDisks, int otherEbsVolumes)
    {
        var (family, size) = Split(instanceType);
        int available;
        if (family is not null && XenFamilies.Contains(family) && !(family == "p3" && size == "24xlarge" && instanceType!.StartsWith("p3dn", StringComparison.Ordinal)))
        {
            available = XenLimit - otherEbsVolumes;
        }
        else if (family is not null && DedicatedFamilies.Contains(family))
        {
            available = DedicatedLimit(size) - otherEbsVolumes;
        }
        else
        {
            available = NitroSharedSlots - networkInterfaces - instanceStoreDisks - otherEbsVolumes;
        }
        // 0 would mean "no limit" to the CO; at least one volume must always be allowed to be counted.
        return Math.Max(1, available);
    }

    /// <summary>Dedicated limits grow with the instance size; the largest sizes allow 128.</summary>
    private static int DedicatedLimit(string? size) => size switch
    {
        null => 32,
        _ when size.Contains("metal", StringComparison.Ordinal) || size is "48xlarge" or "96xlarge" => 128,
        "24xlarge" or "32xlarge" => 64,
        _ => 32,
    };

    private static (string? Family, string? Size) Split(string? instanceType)
    {
        if (string.IsNullOrWhiteSpace(instanceType))
        {
            return (null, null);
        }
        var dot = instanceType.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? (instanceType, null) : (instanceType[..dot], instanceType[(dot + 1)..]);
    }
}
