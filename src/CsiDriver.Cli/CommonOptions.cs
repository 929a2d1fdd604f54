using System.CommandLine;
using System.Globalization;
using Csi.V1;

namespace CsiDriver.Cli;

/// <summary>Options shared by several commands, and their conversion to CSI messages.</summary>
public static class CommonOptions
{
    public static readonly Option<string> Endpoint = new("--endpoint", "-e")
    {
        Description = "CSI endpoint: unix:///path/csi.sock or a path (env CSI_ENDPOINT).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CSI_ENDPOINT") ?? "unix:///run/csi/csi.sock",
    };

    public static readonly Option<TimeSpan> Timeout = new("--timeout")
    {
        Description = "Deadline for the call.",
        Recursive = true,
        DefaultValueFactory = _ => TimeSpan.FromMinutes(2),
        CustomParser = r => TimeSpan.FromSeconds(double.Parse(r.Tokens[0].Value.TrimEnd('s'), CultureInfo.InvariantCulture)),
    };

    public static Option<bool> Block() => new("--block") { Description = "Raw block access instead of a mounted filesystem." };

    public static Option<string> FsType() => new("--fs-type") { Description = "Filesystem for mount access (ext4, ext3, xfs).", DefaultValueFactory = _ => string.Empty };

    public static Option<string[]> MountFlags() => new("--mount-flag") { Description = "Mount flag, repeatable.", AllowMultipleArgumentsPerToken = false };

    public static Option<string> AccessMode() => new("--access-mode")
    {
        Description = "single-node-writer, single-node-reader-only, multi-node-reader-only, multi-node-single-writer, multi-node-multi-writer, single-node-single-writer, single-node-multi-writer.",
        DefaultValueFactory = _ => "single-node-writer",
    };

    public static Option<string[]> KeyValues(string name, string description) => new(name) { Description = description + " (key=value, repeatable)." };

    public static VolumeCapability Capability(bool block, string fsType, IEnumerable<string> mountFlags, string accessMode)
    {
        var capability = new VolumeCapability
        {
            AccessMode = new VolumeCapability.Types.AccessMode { Mode = ParseAccessMode(accessMode) },
        };
        if (block)
        {
            capability.Block = new VolumeCapability.Types.BlockVolume();
        }
        else
        {
            capability.Mount = new VolumeCapability.Types.MountVolume { FsType = fsType };
            capability.Mount.MountFlags.AddRange(mountFlags);
        }
        return capability;
    }

    public static VolumeCapability.Types.AccessMode.Types.Mode ParseAccessMode(string text) => text.ToLowerInvariant() switch
    {
        "single-node-writer" => VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter,
        "single-node-reader-only" => VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeReaderOnly,
        "multi-node-reader-only" => VolumeCapability.Types.AccessMode.Types.Mode.MultiNodeReaderOnly,
        "multi-node-single-writer" => VolumeCapability.Types.AccessMode.Types.Mode.MultiNodeSingleWriter,
        "multi-node-multi-writer" => VolumeCapability.Types.AccessMode.Types.Mode.MultiNodeMultiWriter,
        "single-node-single-writer" => VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeSingleWriter,
        "single-node-multi-writer" => VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeMultiWriter,
        _ => throw new ArgumentException($"unknown access mode '{text}'"),
    };

    /// <summary>key=value pairs into a map; a pair without '=' is an error.</summary>
    public static Dictionary<string, string> Pairs(IEnumerable<string>? items, string option)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items ?? [])
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"{option}: '{item}' is not key=value");
            }
            map[item[..equals]] = item[(equals + 1)..];
        }
        return map;
    }

    /// <summary>Parses sizes like 1073741824, 512Mi, 1Gi, 2G.</summary>
    public static long ParseSize(string text)
    {
        var units = new (string Suffix, long Factor)[]
        {
            ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
            ("K", 1000L), ("M", 1000_000L), ("G", 1000_000_000L), ("T", 1000_000_000_000L),
        };
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) &&
                long.TryParse(text[..^suffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return checked(value * factor);
            }
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
            ? bytes
            : throw new ArgumentException($"'{text}' is not a size (e.g. 1Gi, 512Mi, 1073741824)");
    }
}
