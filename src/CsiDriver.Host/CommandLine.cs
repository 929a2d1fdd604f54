using System.CommandLine;
using CsiDriver.Cloud.Aws;
using CsiDriver.Cloud.Local;
using CsiDriver.Core;

namespace CsiDriver.Host;

/// <summary>The driver's command line: every option documented in --help, bound to the options classes.</summary>
public sealed class CommandLine
{
    private readonly Option<string> _endpoint = new("--endpoint")
    {
        Description = "CSI socket: unix:///path/csi.sock or a bare path. A stale socket file is replaced; a live one makes the driver refuse to start.",
        DefaultValueFactory = _ => new DriverOptions().Endpoint,
    };
    private readonly Option<DriverMode> _mode = new("--mode")
    {
        Description = "Which CSI services to serve: controller, node or all.",
        DefaultValueFactory = _ => DriverMode.All,
    };
    private readonly Option<string> _driverName = new("--driver-name")
    {
        Description = "CSI driver name reported by GetPluginInfo; must match the CSIDriver object and StorageClasses.",
        DefaultValueFactory = _ => DriverOptions.DefaultDriverName,
    };
    private readonly Option<string?> _nodeId = new("--node-id")
    {
        Description = "This node's id (local backend default: the host name; aws default: the EC2 instance id).",
    };
    private readonly Option<BackendKind> _backend = new("--backend")
    {
        Description = "Storage backend: local (sparse files as loop devices) or aws (EBS).",
        DefaultValueFactory = _ => BackendKind.Local,
    };
    private readonly Option<string> _stateDir = new("--state-dir")
    {
        Description = "Local backend: directory for volume files, snapshots and metadata.",
        DefaultValueFactory = _ => new LocalBackendOptions().StateDir,
    };
    private readonly Option<string> _zone = new("--zone")
    {
        Description = "Local backend: topology zone reported for volumes and this node.",
        DefaultValueFactory = _ => new LocalBackendOptions().Zone,
    };
    private readonly Option<long> _localCapacity = new("--local-capacity")
    {
        Description = "Local backend: total bytes volumes may use; 0 means no limit.",
    };
    private readonly Option<long> _localMaxVolumeSize = new("--local-max-volume-size")
    {
        Description = "Local backend: largest single volume in bytes; 0 means what the state dir's filesystem holds in one file.",
    };
    private readonly Option<LogFormat> _logFormat = new("--log-format")
    {
        Description = "Log format: text or json.",
        DefaultValueFactory = _ => LogFormat.Text,
    };
    private readonly Option<string> _logLevel = new("--log-level")
    {
        Description = "Minimum log level: Trace, Debug, Information, Warning, Error.",
        DefaultValueFactory = _ => "Information",
    };
    private readonly Option<string?> _metricsAddress = new("--metrics-address")
    {
        Description = "host:port (or :port) serving /metrics, /healthz and /readyz over HTTP; off when not set.",
    };
    private readonly Option<long> _volumeAttachLimit = new("--volume-attach-limit")
    {
        Description = "Overrides the max volumes per node reported by NodeGetInfo; 0 keeps the backend's value.",
    };
    private readonly Option<double> _trimMemoryAfter = new("--trim-memory-after")
    {
        Description = "Seconds without a volume call (Probe does not count) after which the driver gives memory back to the kernel; 0 never does.",
        DefaultValueFactory = _ => DriverOptions.DefaultTrimMemoryAfter.TotalSeconds,
    };
    private readonly Option<string> _kubeletDir = new("--kubelet-dir")
    {
        Description = "Node: kubelet's root directory (kubelet --root-dir). Stage, publish, unpublish, unstage, expand and stats act only below its pods/ and plugins/kubernetes.io/csi/ directories.",
        DefaultValueFactory = _ => DriverOptions.DefaultKubeletDir,
    };
    private readonly Option<string[]> _allowedPathRoots = new("--allowed-path-root")
    {
        Description = "Node: an extra directory node operations may act below (repeat for several), e.g. csi-sanity's staging and mount directories or a test's scratch directory.",
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<string?> _nodeStateDir = new("--node-state-dir")
    {
        Description = "Node: where the node plugin records the targets it created and how each volume was used (default <kubelet-dir>/plugins/<driver-name>/node-state).",
    };
    private readonly Option<string> _csiCapabilities = new("--csi-capabilities")
    {
        Description = "Newest CSI spec release whose capabilities are advertised: v1.11 (default; works with csi-provisioner v5.2.0 "
            + "and every later sidecar) or v1.12 (adds GET_SNAPSHOT, which csi-provisioner v5.2.0, built on CSI v1.11, crashes on).",
        DefaultValueFactory = _ => "v" + DriverOptions.DefaultCsiCapabilities,
    };
    private readonly Option<string?> _region = new("--region")
    {
        Description = "AWS: region (default: AWS_REGION, AWS_DEFAULT_REGION, or instance metadata).",
    };
    private readonly Option<string?> _ec2Endpoint = new("--aws-ec2-endpoint")
    {
        Description = "AWS: EC2 endpoint URL override (AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL also apply).",
    };
    private readonly Option<string?> _regionEndpoints = new("--aws-ec2-region-endpoints")
    {
        Description = "AWS: EC2 endpoint URLs of other regions (snapshot copies), as region1=url1,region2=url2; others use their regional endpoint.",
    };
    private readonly Option<string?> _extraTags = new("--extra-tags")
    {
        Description = "AWS: tags for every volume and snapshot, as key1=value1,key2=value2.",
    };
    private readonly Option<string> _metadataSources = new("--metadata-sources")
    {
        Description = "AWS: where node metadata comes from, in order: imds,kubernetes.",
        DefaultValueFactory = _ => "imds,kubernetes",
    };
    private readonly Option<string> _retryMode = new("--aws-retry-mode")
    {
        Description = "AWS: SDK retry mode, standard or adaptive (one client per EC2 throttling bucket either way).",
        DefaultValueFactory = _ => "standard",
    };
    private readonly Option<bool> _paceCalls = new("--aws-pace-calls")
    {
        Description = "AWS: pace EC2 calls to EC2's default request-rate buckets so bursts are not throttled; false for raised account limits.",
        DefaultValueFactory = _ => true,
    };
    private readonly Option<double> _groupSnapshotWait = new("--aws-group-snapshot-wait")
    {
        Description = "AWS: seconds CreateVolumeGroupSnapshot waits (within the call's deadline) for EC2 to complete the group's snapshots "
            + "before answering DEADLINE_EXCEEDED so the snapshotter calls again (the same group, ready once complete); "
            + "0 answers ready_to_use=false at once, for a csi-snapshotter that re-checks pending groups (v8.7.0+).",
        DefaultValueFactory = _ => new AwsBackendOptions().GroupSnapshotWait.TotalSeconds,
    };
    private readonly Option<string?> _instanceId = new("--instance-id") { Description = "AWS: this node's instance id, skipping metadata lookup." };
    private readonly Option<string?> _availabilityZone = new("--availability-zone") { Description = "AWS: this node's availability zone." };
    private readonly Option<string?> _availabilityZoneId = new("--availability-zone-id") { Description = "AWS: this node's availability zone id." };
    private readonly Option<string?> _instanceType = new("--instance-type") { Description = "AWS: this node's instance type (for the attach limit)." };
    private readonly Option<string?> _outpostArn = new("--outpost-arn") { Description = "AWS: the outpost this node runs on." };

    public RootCommand BuildRoot(Func<DriverConfiguration, CancellationToken, Task<int>> run)
    {
        var root = new RootCommand("CsiDriver: a CSI driver for cloud block volumes (AWS EBS) and local loop-device volumes.")
        {
            _endpoint, _mode, _driverName, _nodeId, _backend, _stateDir, _zone, _localCapacity, _localMaxVolumeSize, _logFormat, _logLevel,
            _metricsAddress, _volumeAttachLimit, _trimMemoryAfter, _csiCapabilities, _kubeletDir, _allowedPathRoots, _nodeStateDir, _region, _ec2Endpoint, _regionEndpoints, _extraTags, _metadataSources,
            _instanceId, _availabilityZone, _availabilityZoneId, _instanceType, _outpostArn, _retryMode, _paceCalls, _groupSnapshotWait,
        };
        root.SetAction(async (result, cancellationToken) =>
        {
            DriverConfiguration configuration;
            try
            {
                configuration = Bind(result);
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync($"csi-driver: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
            return await run(configuration, cancellationToken).ConfigureAwait(false);
        });
        return root;
    }

    public DriverConfiguration Bind(ParseResult result)
    {
        var driver = new DriverOptions
        {
            Endpoint = result.GetValue(_endpoint)!,
            Mode = result.GetValue(_mode),
            DriverName = result.GetValue(_driverName)!,
            NodeId = result.GetValue(_nodeId),
            Backend = result.GetValue(_backend),
            LogFormat = result.GetValue(_logFormat),
            LogLevel = result.GetValue(_logLevel)!,
            MetricsAddress = result.GetValue(_metricsAddress),
            VolumeAttachLimit = result.GetValue(_volumeAttachLimit),
            TrimMemoryAfter = Seconds(result.GetValue(_trimMemoryAfter), "--trim-memory-after"),
            KubeletDir = result.GetValue(_kubeletDir)!,
            AllowedPathRoots = result.GetValue(_allowedPathRoots) ?? [],
            NodeStateDir = result.GetValue(_nodeStateDir),
            CsiCapabilities = DriverOptions.TryParseCsiVersion(result.GetValue(_csiCapabilities), out var csiVersion)
                ? csiVersion
                : throw new ArgumentException($"--csi-capabilities: '{result.GetValue(_csiCapabilities)}' is not a CSI spec release such as v1.11"),
        };
        var local = new LocalBackendOptions
        {
            StateDir = result.GetValue(_stateDir)!,
            Zone = result.GetValue(_zone)!,
            CapacityBytes = result.GetValue(_localCapacity),
            MaxVolumeBytes = result.GetValue(_localMaxVolumeSize),
        };
        var aws = new AwsBackendOptions
        {
            Region = result.GetValue(_region),
            Ec2Endpoint = result.GetValue(_ec2Endpoint),
            ExtraTags = ParseTags(result.GetValue(_extraTags)),
            RegionEndpoints = ParseTags(result.GetValue(_regionEndpoints), "--aws-ec2-region-endpoints"),
            MetadataSources = result.GetValue(_metadataSources)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            InstanceId = result.GetValue(_instanceId),
            AvailabilityZone = result.GetValue(_availabilityZone),
            AvailabilityZoneId = result.GetValue(_availabilityZoneId),
            InstanceType = result.GetValue(_instanceType),
            OutpostArn = result.GetValue(_outpostArn),
            RetryMode = result.GetValue(_retryMode)!,
            PaceCalls = result.GetValue(_paceCalls),
            GroupSnapshotWait = Seconds(result.GetValue(_groupSnapshotWait), "--aws-group-snapshot-wait"),
        };
        return new DriverConfiguration(driver, local, aws);
    }

    /// <summary>A number of seconds: finite and not negative.</summary>
    private static TimeSpan Seconds(double value, string flag) =>
        double.IsFinite(value) && value >= 0 && value <= TimeSpan.MaxValue.TotalSeconds / 2
            ? TimeSpan.FromSeconds(value)
            : throw new ArgumentException($"{flag}: '{value}' is not a number of seconds (0 or more)");

    /// <summary>Parses key1=value1,key2=value2; a pair without '=' is an error.</summary>
    public static IReadOnlyDictionary<string, string> ParseTags(string? text, string flag = "--extra-tags")
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return tags;
        }
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"{flag}: '{pair}' is not key=value");
            }
            tags[pair[..equals]] = pair[(equals + 1)..];
        }
        return tags;
    }
}
