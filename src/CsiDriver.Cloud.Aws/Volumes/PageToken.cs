using System.Globalization;
using System.Text;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>
/// A CSI starting_token over EC2 pagination: the EC2 NextToken of the page plus how many entries of it were
/// already returned. EC2 pages hold at least 5 entries, CSI may ask for fewer, so a page can be split.
/// </summary>
public sealed record PageToken(string? Ec2Token, int Skip)
{
    private const string Version = "v1";

    public static PageToken Start { get; } = new(null, 0);

    public string Encode() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Version}:{Skip.ToString(CultureInfo.InvariantCulture)}:{Ec2Token}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Null or empty → the start. Anything we did not produce → Aborted, as the CSI spec asks.</summary>
    public static PageToken Decode(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return Start;
        }
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            var parts = text.Split(':', 3);
            if (parts.Length == 3 && parts[0] == Version
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var skip))
            {
                return new PageToken(parts[2].Length == 0 ? null : parts[2], skip);
            }
        }
        catch (FormatException)
        {
        }
        throw StorageException.Aborted($"starting_token '{InputEcho.Of(token)}' is not a token this driver issued");
    }

    /// <summary>
    /// Cuts one EC2 page into the CSI page: returns the entries to send and the token for the next call.
    /// </summary>
    public static (IReadOnlyList<T> Items, string? Next) Slice<T>(IReadOnlyList<T> page, PageToken current, string? ec2NextToken, int maxEntries)
    {
        var available = page.Skip(current.Skip).ToList();
        if (maxEntries > 0 && available.Count > maxEntries)
        {
            return (available.Take(maxEntries).ToList(), new PageToken(current.Ec2Token, current.Skip + maxEntries).Encode());
        }
        var next = string.IsNullOrEmpty(ec2NextToken) ? null : new PageToken(ec2NextToken, 0).Encode();
        return (available, next);
    }
}
