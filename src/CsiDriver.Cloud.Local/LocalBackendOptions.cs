using CsiDriver.Core;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Local;

/// <summary>Settings of the local loop-device backend.</summary>
public sealed class LocalBackendOptions
{
    /// <summary>Where volume files, snapshots and metadata live.</summary>
    public string StateDir { get; set; } = "/var/lib/csi-driver";

    /// <summary>The topology zone reported for local volumes and this node.</summary>
    public string Zone { get; set; } = "local";

    /// <summary>Bytes the backend may hand out in total, 0 for no limit (RESOURCE_EXHAUSTED beyond it).</summary>
    public long CapacityBytes { get; set; }

    /// <summary>
    /// The largest single volume in bytes, 0 for whatever the state dir's filesystem holds in one file (found when
    /// a file is sized). Larger requests → OUT_OF_RANGE before anything is written.
    /// </summary>
    public long MaxVolumeBytes { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Path.IsPathRooted(StateDir))
        {
            errors.Add($"--state-dir must be an absolute path, got '{StateDir}'");
        }
        if (string.IsNullOrWhiteSpace(Zone))
        {
            errors.Add("--zone must not be empty");
        }
        if (CapacityBytes < 0)
        {
            errors.Add("--local-capacity must not be negative");
        }
        if (MaxVolumeBytes is < 0 or (> 0 and < 1L << 20))
        {
            errors.Add("--local-max-volume-size must be 0 (the filesystem's limit) or at least 1 MiB");
        }
        return errors;
    }
}

/// <summary>Checks <see cref="LocalBackendOptions"/> at start; each failure names the flag to fix.</summary>
public sealed class LocalBackendOptionsValidator : IValidateOptions<LocalBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalBackendOptions options) => ValidatedOptions.ToResult(options.Validate());
}
