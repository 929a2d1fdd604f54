using System.Text.RegularExpressions;

namespace CsiDriver.Deploy.Tests;

/// <summary>Lookups over rendered documents: workloads, containers, their flags, mounts and volumes.</summary>
internal static partial class Manifests
{
    public const string DriverName = "block.csi.csidriver.io";
    public const string DriverContainer = "csi-driver";
    public const string Controller = "block-csi-controller";
    public const string Node = "block-csi-node";
    public static readonly string[] Overlays = ["aws", "local"];

    public static Yaml Single(IReadOnlyList<Yaml> docs, string kind, string name)
    {
        var found = docs.Where(d => d.Kind == kind && d.Name == name).ToList();
        Assert.True(found.Count == 1, $"expected exactly one {kind} {name}, found {found.Count}");
        return found[0];
    }

    public static IEnumerable<Yaml> OfKind(IReadOnlyList<Yaml> docs, string kind) => docs.Where(d => d.Kind == kind);

    public static Yaml PodSpec(Yaml workload) => workload["spec"]["template"]["spec"];

    public static IReadOnlyList<Yaml> Containers(Yaml workload) =>
        [.. PodSpec(workload)["containers"].Items, .. PodSpec(workload)["initContainers"].Items];

    public static Yaml Container(Yaml workload, string name)
    {
        var found = PodSpec(workload)["containers"].Items.Where(c => c["name"].Str == name).ToList();
        Assert.True(found.Count == 1, $"{workload.Name}: expected one container {name}, found {found.Count}");
        return found[0];
    }

    /// <summary>The container's args with $(VAR) references resolved from its literal env values.</summary>
    public static IReadOnlyList<string> Args(Yaml container)
    {
        var env = container["env"].Items
            .Where(e => e["value"].Str is not null)
            .ToDictionary(e => e["name"].Str!, e => e["value"].Str!, StringComparer.Ordinal);
        return container["args"].Strings
            .Select(a => VarReference().Replace(a, m => env.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value))
            .ToList();
    }

    /// <summary>Every value given for --flag (as --flag=value); empty when absent.</summary>
    public static IReadOnlyList<string> Flag(Yaml container, string flag) =>
        Args(container).Where(a => a.StartsWith(flag + "=", StringComparison.Ordinal))
            .Select(a => a[(flag.Length + 1)..]).ToList();

    public static string? SingleFlag(Yaml container, string flag)
    {
        var values = Flag(container, flag);
        Assert.True(values.Count <= 1, $"{container}: {flag} given {values.Count} times: {string.Join(", ", values)}");
        return values.Count == 1 ? values[0] : null;
    }

    public static bool HasFlag(Yaml container, string flag) =>
        Args(container).Any(a => a == flag || a.StartsWith(flag + "=", StringComparison.Ordinal));

    /// <summary>The socket path a unix:// endpoint (or a bare path) names.</summary>
    public static string SocketPath(string endpoint) =>
        endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : endpoint;

    /// <summary>The container's mount whose mountPath contains path (the longest such), or null.</summary>
    public static Yaml? MountCovering(Yaml container, string path) =>
        container["volumeMounts"].Items
            .Where(m => IsUnder(path, m["mountPath"].Str ?? ""))
            .OrderByDescending(m => Normalize(m["mountPath"].Str!).Length)
            .FirstOrDefault();

    public static Yaml Volume(Yaml workload, string name)
    {
        var found = PodSpec(workload)["volumes"].Items.Where(v => v["name"].Str == name).ToList();
        Assert.True(found.Count == 1, $"{workload.Name}: expected one volume {name}, found {found.Count}");
        return found[0];
    }

    /// <summary>Maps a path inside the container to the host when it lies on a hostPath volume; null otherwise.</summary>
    public static string? HostPathOf(Yaml workload, Yaml container, string path)
    {
        var mount = MountCovering(container, path);
        if (mount is null)
        {
            return null;
        }
        var hostRoot = Volume(workload, mount["name"].Str!)["hostPath"]["path"].Str;
        if (hostRoot is null)
        {
            return null;
        }
        var relative = Normalize(path)[Normalize(mount["mountPath"].Str!).Length..].TrimStart('/');
        return relative.Length == 0 ? Normalize(hostRoot) : Normalize(hostRoot) + "/" + relative;
    }

    public static string Normalize(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    public static bool IsUnder(string path, string dir)
    {
        var p = Normalize(path);
        var d = Normalize(dir);
        return p == d || p.StartsWith(d == "/" ? "/" : d + "/", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex VarReference();
}
