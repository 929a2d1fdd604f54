using Amazon.Runtime;
using CsiDriver.Core;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws;

/// <summary>Settings of the AWS EBS backend.</summary>
public sealed class AwsBackendOptions
{
    /// <summary>AWS region; when null, from AWS_REGION / AWS_DEFAULT_REGION or instance metadata.</summary>
    public string? Region { get; set; }

    /// <summary>EC2 endpoint override; AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL also apply.</summary>
    public string? Ec2Endpoint { get; set; }

    /// <summary>Tags put on every volume and snapshot: key=value,key=value.</summary>
    public IReadOnlyDictionary<string, string> ExtraTags { get; set; } = new Dictionary<string, string>();

    /// <summary>EC2 endpoint per other region (snapshot copies), region → URL; a region not listed uses its regional endpoint.
    /// --aws-ec2-endpoint is the home region's only: a VPC endpoint there does not reach another region.</summary>
    public IReadOnlyDictionary<string, string> RegionEndpoints { get; set; } = new Dictionary<string, string>();

    /// <summary>Where node metadata comes from, in order: imds, kubernetes.</summary>
    public IReadOnlyList<string> MetadataSources { get; set; } = ["imds", "kubernetes"];

    /// <summary>Explicit node metadata; each overrides what the sources say.</summary>
    public string? InstanceId { get; set; }

    public string? AvailabilityZone { get; set; }

    public string? AvailabilityZoneId { get; set; }

    public string? InstanceType { get; set; }

    public string? OutpostArn { get; set; }

    /// <summary>
    /// The SDK retry mode: "standard" (default) or "adaptive". Adaptive adds a client-side rate limiter that, under
    /// sustained EC2 throttling, slowed itself to a trickle and failed calls with "capacity could not be obtained"
    /// in our simulator runs (bench/README.md); standard retries with one client per throttling bucket stayed
    /// within a few percent of EC2's token-bucket floor.
    /// </summary>
    public string RetryMode { get; set; } = "standard";

    /// <summary>Pace calls to EC2's default request-rate buckets client-side (see Ec2CallPacer); off for raised account limits.</summary>
    public bool PaceCalls { get; set; } = true;

    /// <summary>
    /// How long CreateVolumeGroupSnapshot waits for EC2 to complete the members it cut (or found cut), within the
    /// call's deadline, before it answers DEADLINE_EXCEEDED ("still pending, call again with the same name"); the
    /// call again finds the same group and answers it ready once EC2 has completed it. Zero answers at once with
    /// ready_to_use=false instead: CSI's asynchronous form, which only a csi-snapshotter that re-checks a pending group
    /// acts on (v8.7.0 and later; v8.2–v8.6 never ask again: kubernetes-csi/external-snapshotter#1457).
    /// </summary>
    public TimeSpan GroupSnapshotWait { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// Credentials to use instead of the SDK's default chain. No flag sets this: it exists so tests can
    /// talk to an EC2 simulator without touching the process environment. Production leaves it null.
    /// </summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>Poll intervals, grace windows and local paths; defaults suit production, tests shorten them.</summary>
    public AwsTuning Tuning { get; set; } = new();

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var source in MetadataSources)
        {
            if (source is not ("imds" or "kubernetes"))
            {
                errors.Add($"--metadata-sources: unknown source '{source}' (use imds, kubernetes)");
            }
        }
        if (Ec2Endpoint is not null && !Uri.TryCreate(Ec2Endpoint, UriKind.Absolute, out _))
        {
            errors.Add($"--aws-ec2-endpoint must be an absolute URL, got '{Ec2Endpoint}'");
        }
        foreach (var (region, url) in RegionEndpoints.Where(e => !Uri.TryCreate(e.Value, UriKind.Absolute, out _)))
        {
            errors.Add($"--aws-ec2-region-endpoints: the endpoint of {region} must be an absolute URL, got '{url}'");
        }
        if (GroupSnapshotWait < TimeSpan.Zero)
        {
            errors.Add($"--aws-group-snapshot-wait must not be negative, got {GroupSnapshotWait.TotalSeconds:0.###}");
        }
        if (RetryMode is not ("standard" or "adaptive"))
        {
            errors.Add($"--aws-retry-mode must be standard or adaptive, got '{RetryMode}'");
        }
        foreach (var key in ExtraTags.Keys.Where(Volumes.EbsTags.IsReserved))
        {
            errors.Add($"--extra-tags: tag key '{key}' is reserved (the driver's own tags, kubernetes.io/cluster/*, aws:*)");
        }
        errors.AddRange(Tuning.Validate());
        return errors;
    }
}

/// <summary>
/// Timing and path settings of the AWS backend. Production uses the defaults; end-to-end tests against
/// an EC2 simulator shorten the intervals so waits take milliseconds.
/// </summary>
public sealed class AwsTuning
{
    /// <summary>First delay before a waiter's resource is described again.</summary>
    public TimeSpan PollInitialInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the per-waiter exponential backoff.</summary>
    public TimeSpan PollMaxInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a just-created volume or snapshot may be reported as not found (EC2 eventual consistency).</summary>
    public TimeSpan NotFoundGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A wait gives up after this long with UNAVAILABLE so the CO retries (the RPC deadline usually comes first).</summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long an expand or modify waits for a partner request to the same volume before calling ModifyVolume.</summary>
    public TimeSpan ModifyCoalesceWindow { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Instance metadata service base URL (IMDSv2).</summary>
    public string ImdsEndpoint { get; set; } = "http://169.254.169.254";

    /// <summary>Root under which /dev and /sys are found; tests point it at a fake tree.</summary>
    public string HostRoot { get; set; } = "/";

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PollInitialInterval <= TimeSpan.Zero || PollMaxInterval < PollInitialInterval)
        {
            errors.Add("aws poll intervals must be positive and the maximum at least the initial interval");
        }
        if (NotFoundGrace < TimeSpan.Zero || ModifyCoalesceWindow < TimeSpan.Zero || WaitTimeout <= TimeSpan.Zero)
        {
            errors.Add("aws grace, coalesce window and wait timeout must not be negative");
        }
        if (!Uri.TryCreate(ImdsEndpoint, UriKind.Absolute, out _))
        {
            errors.Add($"aws IMDS endpoint must be an absolute URL, got '{ImdsEndpoint}'");
        }
        return errors;
    }
}

/// <summary>Checks <see cref="AwsBackendOptions"/> at start; each failure names the flag to fix.</summary>
public sealed class AwsBackendOptionsValidator : IValidateOptions<AwsBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, AwsBackendOptions options) => ValidatedOptions.ToResult(options.Validate());
}
