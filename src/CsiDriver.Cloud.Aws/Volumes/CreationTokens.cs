using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>
/// EC2 client tokens for CreateVolume / CopyVolumes. The first attempt for a CSI name uses SHA-256 of the name,
/// so a retry after a lost answer gets the same volume back. EC2 remembers a token for hours, though, and
/// replays its volume even after that volume failed and was deleted: the name would be stuck on a dead id. Once
/// the replayed volume is seen gone (or in state error), the name moves on to attempt 2, 3, … whose token hashes
/// "name-N" (as aws-ebs-csi-driver does). The attempt that made a volume is recorded in its
/// <see cref="EbsTags.ClientTokenAttempt"/> tag, so a restarted controller that finds the volume knows which
/// token it burned. Attempts live in memory only; after a restart a burned token is found again by replaying it.
/// A volume seen deleting, deleted or in error burns its token at once; one merely not found burns it only when
/// it is still not found in a later call, since EC2's read path can lag behind its grace window.
/// </summary>
public sealed class CreationTokens
{
    /// <summary>Fresh tokens one CreateVolume call may go through before it gives up with INTERNAL.</summary>
    public const int MaxFreshTokensPerCall = 3;

    /// <summary>Names with a burned first token are few; past this many the oldest knowledge is dropped.</summary>
    private const int MaxRemembered = 10_000;

    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _missing = new(StringComparer.Ordinal);

    /// <summary>The attempt to use next for the name (1 unless a token was seen burned).</summary>
    public int AttemptFor(string name) => _attempts.GetValueOrDefault(name, 1);

    /// <summary>The token of that attempt: hex SHA-256 of the name (attempt 1) or of "name-N", 64 characters (EC2's maximum).</summary>
    public static string TokenFor(string name, int attempt)
    {
        var input = attempt <= 1 ? name : name + "-" + attempt.ToString(CultureInfo.InvariantCulture);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input)));
    }

    /// <summary>The attempt's token is burned: the name moves past it (never back).</summary>
    public void Burned(string name, int attempt)
    {
        _missing.TryRemove(name, out _);
        if (_attempts.Count >= MaxRemembered)
        {
            _attempts.Clear();
        }
        _attempts.AddOrUpdate(name, attempt + 1, (_, current) => Math.Max(current, attempt + 1));
    }

    /// <summary>
    /// The volume a token gave was not found past the visibility grace. True when the same volume was already
    /// missing in an earlier call for the name (proof enough that it is gone); otherwise remembers it and says false.
    /// </summary>
    public bool MissingAgain(string name, string volumeId)
    {
        if (_missing.TryGetValue(name, out var before) && before == volumeId)
        {
            _missing.TryRemove(name, out _);
            return true;
        }
        if (_missing.Count >= MaxRemembered)
        {
            _missing.Clear();
        }
        _missing[name] = volumeId;
        return false;
    }

    /// <summary>
    /// The name's volume exists and is usable: no suspicion left. Its attempt stays, since the earlier tokens stay
    /// burned (a name reused after a delete would otherwise start again at a token whose volume is gone).
    /// </summary>
    public void Settled(string name) => _missing.TryRemove(name, out _);

    /// <summary>The attempt recorded on a volume's tag, 1 when it has none (or one we cannot read).</summary>
    public static int AttemptOf(string? tagValue) =>
        int.TryParse(tagValue, NumberStyles.None, CultureInfo.InvariantCulture, out var attempt) && attempt > 1 ? attempt : 1;
}
