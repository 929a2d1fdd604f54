using System.Net;
using System.Text.RegularExpressions;

namespace CsiDriver.Core;

public enum DriverMode
{
    Controller,
    Node,
    All,
}

public enum BackendKind
{
    Local,
    Aws,
}

public enum LogFormat
{
    Text,
    Json,
}

/// <summary>Options shared by every part of the driver; validated once at startup.</summary>
public sealed partial class DriverOptions
{
    public const string DefaultDriverName = "block.csi.csidriver.io";

    /// <summary>unix:///path/csi.sock or a bare path.</summary>
    public string Endpoint { get; set; } = "unix:///run/csi/csi.sock";

    public DriverMode Mode { get; set; } = DriverMode.All;

    public string DriverName { get; set; } = DefaultDriverName;

    /// <summary>This node's id; for the local backend the host name when not given.</summary>
    public string? NodeId { get; set; }

    public BackendKind Backend { get; set; } = BackendKind.Local;

    public LogFormat LogFormat { get; set; } = LogFormat.Text;

    public string LogLevel { get; set; } = "Information";

    /// <summary>host:port for /metrics, /healthz and /readyz; null keeps the listener off.</summary>
    public string? MetricsAddress { get; set; }

    /// <summary>Overrides the backend's max_volumes_per_node when greater than 0.</summary>
    public long VolumeAttachLimit { get; set; }

    /// <summary>
    /// kubelet's root directory (kubelet --root-dir). Node operations act only below its pods/ and
    /// plugins/kubernetes.io/csi/ directories, where kubelet puts publish and staging paths.
    /// </summary>
    public string KubeletDir { get; set; } = DefaultKubeletDir;

    /// <summary>Extra directories node operations may act below (tests, csi-sanity's mount and staging dirs).</summary>
    public IReadOnlyList<string> AllowedPathRoots { get; set; } = [];

    /// <summary>
    /// Where the node plugin remembers what it created and what each volume was used as (crash-safe records);
    /// null means &lt;kubelet-dir&gt;/plugins/&lt;driver-name&gt;/node-state, next to the socket kubelet dials.
    /// </summary>
    public string? NodeStateDir { get; set; }

    public const string DefaultKubeletDir = "/var/lib/kubelet";

    /// <summary>
    /// How long without a volume call (Identity calls do not count) before the driver gives memory back: a compacting
    /// collection, free native heap pages, and the file pages only this process maps. Zero keeps everything.
    /// </summary>
    public TimeSpan TrimMemoryAfter { get; set; } = DefaultTrimMemoryAfter;

    /// <summary>Long enough that kubelet's stage and publish of one pod, issued back to back, fall in one burst.</summary>
    public static readonly TimeSpan DefaultTrimMemoryAfter = TimeSpan.FromSeconds(2);

    /// <summary>The node state directory, explicit or derived from the kubelet directory and the driver name.</summary>
    public string EffectiveNodeStateDir => NodeStateDir ?? Path.Combine(KubeletDir, "plugins", DriverName, "node-state");

    /// <summary>
    /// The newest CSI spec release whose capabilities the driver advertises (--csi-capabilities). The default,
    /// v1.11, is what the oldest supported sidecar generation knows: csi-provisioner v5.2.0 crashes at start on a
    /// capability value newer than its CSI library (GET_SNAPSHOT, v1.12). v1.12 opts in to those newer values.
    /// </summary>
    public Version CsiCapabilities { get; set; } = DefaultCsiCapabilities;

    /// <summary>CSI v1.11: every capability of the sidecars of Kubernetes 1.32 (csi-provisioner v5.2.0 and later) is known.</summary>
    public static Version DefaultCsiCapabilities { get; } = new(1, 11);

    /// <summary>The spec levels --csi-capabilities accepts: the default and the proto this driver is built on.</summary>
    public static IReadOnlyList<Version> SupportedCsiCapabilities { get; } = [new(1, 11), new(1, 12)];

    /// <summary>Parses "v1.11" or "1.11"; false for anything else.</summary>
    public static bool TryParseCsiVersion(string? text, out Version version)
    {
        version = DefaultCsiCapabilities;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.StartsWith('v') || trimmed.StartsWith('V'))
        {
            trimmed = trimmed[1..];
        }
        if (trimmed.Count(c => c == '.') != 1 || !Version.TryParse(trimmed, out var parsed))
        {
            return false;
        }
        version = parsed;
        return true;
    }

    public bool RunsController => Mode is DriverMode.Controller or DriverMode.All;

    public bool RunsNode => Mode is DriverMode.Node or DriverMode.All;

    /// <summary>The socket's file system path, from either endpoint form.</summary>
    public string SocketPath => Endpoint.StartsWith("unix://", StringComparison.Ordinal)
        ? Endpoint["unix://".Length..]
        : Endpoint;

    /// <summary>Every problem with the options, empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Endpoint.Contains("://", StringComparison.Ordinal) && !Endpoint.StartsWith("unix://", StringComparison.Ordinal))
        {
            errors.Add($"--endpoint must be unix:///path or a path, got '{Endpoint}'");
        }
        else if (!Path.IsPathRooted(SocketPath))
        {
            errors.Add($"--endpoint must be an absolute path, got '{Endpoint}'");
        }
        // CSI: domain-name notation, at most 63 characters, alphanumeric at both ends.
        if (DriverName.Length > 63 || !DriverNamePattern().IsMatch(DriverName))
        {
            errors.Add($"--driver-name '{DriverName}' must be at most 63 characters of [a-zA-Z0-9.-] starting and ending with an alphanumeric");
        }
        if (NodeId is { Length: 0 } || NodeId?.Length > 128)
        {
            errors.Add("--node-id must be 1 to 128 characters");
        }
        if (!Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(LogLevel, ignoreCase: true, out _))
        {
            errors.Add($"--log-level '{LogLevel}' is not one of Trace, Debug, Information, Warning, Error, Critical");
        }
        if (VolumeAttachLimit < 0)
        {
            errors.Add("--volume-attach-limit must not be negative");
        }
        if (TrimMemoryAfter < TimeSpan.Zero)
        {
            errors.Add($"--trim-memory-after must not be negative, got {TrimMemoryAfter.TotalSeconds:0.###}");
        }
        ValidateNodePaths(errors);
        if (!SupportedCsiCapabilities.Contains(CsiCapabilities))
        {
            errors.Add($"--csi-capabilities v{CsiCapabilities} is not one of {string.Join(", ", SupportedCsiCapabilities.Select(v => "v" + v))}");
        }
        if (MetricsAddress is not null && !TryParseListenAddress(MetricsAddress, out _, out _))
        {
            errors.Add($"--metrics-address '{MetricsAddress}' must be [ip]:port with an IP address or localhost, e.g. :3301, 0.0.0.0:3301, 127.0.0.1:3301 or [::]:3301");
        }
        return errors;
    }

    /// <summary>The node's directories must be absolute, and an extra root must not open the whole host or a kernel filesystem.</summary>
    private void ValidateNodePaths(List<string> errors)
    {
        if (!Path.IsPathFullyQualified(KubeletDir) || Path.GetFullPath(KubeletDir) == "/")
        {
            errors.Add($"--kubelet-dir must be an absolute directory other than /, got '{KubeletDir}'");
        }
        if (NodeStateDir is not null && !Path.IsPathFullyQualified(NodeStateDir))
        {
            errors.Add($"--node-state-dir must be an absolute path, got '{NodeStateDir}'");
        }
        foreach (var root in AllowedPathRoots)
        {
            var full = Path.IsPathFullyQualified(root) ? Path.GetFullPath(root).TrimEnd('/') : null;
            if (full is null || full.Length == 0 || KernelFilesystems.Any(k => full == k || full.StartsWith(k + "/", StringComparison.Ordinal)))
            {
                errors.Add($"--allowed-path-root must be an absolute directory other than /, /proc, /sys and /dev, got '{root}'");
            }
        }
    }

    private static readonly string[] KernelFilesystems = ["/proc", "/sys", "/dev"];

    /// <summary>
    /// Parses ":port", "ip:port", "[ipv6]:port" or "localhost:port". address is null for ":port" (every interface)
    /// and <see cref="IPAddress.Loopback"/> for localhost. Port 0 asks for a free port (tests).
    /// </summary>
    public static bool TryParseListenAddress(string text, out IPAddress? address, out int port)
    {
        address = null;
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            || port > 65535)
        {
            return false;
        }
        var host = text[..colon];
        if (host.Length == 0)
        {
            return true;
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }
        // An IPv6 address needs brackets so its own colons are not mistaken for the port separator.
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            return IPAddress.TryParse(host[1..^1], out address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }
        // Dotted quad only: IPAddress.TryParse would also take "10.1" or a bare number.
        return host.Count(c => c == '.') == 3
            && IPAddress.TryParse(host, out address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
    }

    [GeneratedRegex("^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$")]
    private static partial Regex DriverNamePattern();
}
