using CsiDriver.Core.Errors;

namespace CsiDriver.Core.Volumes;

/// <summary>How a backend sizes volumes: whole steps (MiB, GiB), a smallest and a largest volume, a default size.</summary>
public sealed record SizeRules(long StepBytes, long MinBytes, long MaxBytes, long DefaultBytes, string Backend);

/// <summary>
/// The one capacity_range check: the shape of the range (for the controller, before anything is looked up) and
/// the size a backend makes of it. A range no volume of the backend can satisfy → OUT_OF_RANGE naming the
/// bound it broke, the backend's own maximum included, so an impossible size never reaches the backend
/// (where it would fail as INTERNAL, e.g. "file too large").
/// </summary>
public static class CapacityPlan
{
    /// <summary>No negative byte counts, limit not below required → otherwise INVALID_ARGUMENT.</summary>
    public static void ValidateRange(long requiredBytes, long limitBytes, string field = "capacity_range")
    {
        if (requiredBytes < 0)
        {
            throw StorageException.InvalidArgument($"{field}.required_bytes must not be negative, got {requiredBytes}");
        }
        if (limitBytes < 0)
        {
            throw StorageException.InvalidArgument($"{field}.limit_bytes must not be negative, got {limitBytes}");
        }
        if (limitBytes > 0 && limitBytes < requiredBytes)
        {
            throw StorageException.InvalidArgument($"{field}.limit_bytes {limitBytes} is less than required_bytes {requiredBytes}");
        }
    }

    /// <summary>
    /// The size of a new volume: required_bytes rounded up to a whole step; without it the source's size, else the
    /// default cut to the limit; raised to the source's size and the backend's minimum. Beyond limit_bytes or the
    /// backend's maximum → OUT_OF_RANGE.
    /// </summary>
    public static long ForCreate(long requiredBytes, long limitBytes, long sourceBytes, SizeRules rules)
    {
        ValidateRange(requiredBytes, limitBytes);
        long size;
        if (requiredBytes > 0)
        {
            size = RoundUp(requiredBytes, rules);
        }
        else if (sourceBytes > 0)
        {
            size = sourceBytes;
        }
        else
        {
            size = limitBytes > 0 ? Math.Min(rules.DefaultBytes, RoundDown(limitBytes, rules)) : rules.DefaultBytes;
        }
        if (sourceBytes > size)
        {
            if (limitBytes > 0 && sourceBytes > limitBytes)
            {
                throw StorageException.OutOfRange($"unsupported capacity: the content source holds {sourceBytes} bytes, more than limit_bytes {limitBytes}");
            }
            size = sourceBytes;
        }
        size = Math.Max(size, rules.MinBytes);
        if (limitBytes > 0 && size > limitBytes)
        {
            throw StorageException.OutOfRange(
                $"unsupported capacity: a {rules.Backend} volume is at least {Show(rules.MinBytes)} in whole steps of {Show(rules.StepBytes)}, " +
                $"and none fits required_bytes {requiredBytes} and limit_bytes {limitBytes}");
        }
        EnsureWithinMaximum(size, rules);
        return size;
    }

    /// <summary>
    /// The size to expand to: required_bytes rounded up to a whole step, cut back to the limit's last whole step
    /// when the rounding overshoots it. Beyond limit_bytes or the backend's maximum → OUT_OF_RANGE.
    /// </summary>
    public static long ForExpand(long requiredBytes, long limitBytes, SizeRules rules)
    {
        ValidateRange(requiredBytes, limitBytes);
        var target = RoundUp(requiredBytes, rules);
        if (limitBytes > 0 && target > limitBytes)
        {
            target = RoundDown(limitBytes, rules);
            if (target < requiredBytes)
            {
                throw StorageException.OutOfRange(
                    $"unsupported capacity: no whole step of {Show(rules.StepBytes)} lies between required_bytes {requiredBytes} and limit {limitBytes}");
            }
        }
        EnsureWithinMaximum(target, rules);
        return target;
    }

    private static void EnsureWithinMaximum(long size, SizeRules rules)
    {
        if (size > rules.MaxBytes)
        {
            throw StorageException.OutOfRange($"unsupported capacity: {size} bytes is above the {rules.Backend} maximum of {Show(rules.MaxBytes)} per volume");
        }
    }

    private static long RoundUp(long bytes, SizeRules rules) =>
        bytes > long.MaxValue - rules.StepBytes
            ? throw StorageException.OutOfRange($"unsupported capacity: {bytes} bytes is above the {rules.Backend} maximum of {Show(rules.MaxBytes)} per volume")
            : (bytes + rules.StepBytes - 1) / rules.StepBytes * rules.StepBytes;

    /// <summary>A size as people write it: whole GiB or MiB when it is one, bytes otherwise.</summary>
    public static string Show(long bytes) => bytes switch
    {
        > 0 when bytes % (1L << 30) == 0 => $"{bytes >> 30} GiB",
        > 0 when bytes % (1L << 20) == 0 => $"{bytes >> 20} MiB",
        _ => $"{bytes} bytes",
    };

    private static long RoundDown(long bytes, SizeRules rules) => bytes / rules.StepBytes * rules.StepBytes;
}
