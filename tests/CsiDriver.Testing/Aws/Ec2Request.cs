using System.Globalization;
using System.Text.RegularExpressions;

namespace CsiDriver.Testing.Aws;

/// <summary>An EC2 error as the service returns it: code, message, HTTP status.</summary>
public sealed class Ec2ErrorException(string code, string message, int statusCode = 400) : Exception(message)
{
    public string Code { get; } = code;

    public int StatusCode { get; } = statusCode;

    public static Ec2ErrorException Missing(string parameter) =>
        new("MissingParameter", $"The request must contain the parameter {parameter}");

    public static Ec2ErrorException InvalidValue(string parameter, string value, string why) =>
        new("InvalidParameterValue", $"Value ({value}) for parameter {parameter} is invalid. {why}");
}

/// <summary>One filter of a Describe* call: Filter.N.Name with its Filter.N.Value.M values.</summary>
public sealed record Ec2Filter(string Name, IReadOnlyList<string> Values);

/// <summary>
/// The parameters of one EC2 Query request (form body and query string merged), with the EC2 conventions
/// for lists (Name.1, Name.2), structures (Name.1.Field) and filters.
/// </summary>
public sealed partial class Ec2Request(string action, IReadOnlyDictionary<string, string> parameters)
{
    public string Action { get; } = action;

    public IReadOnlyDictionary<string, string> Parameters { get; } = parameters;

    public string? Get(string name) => Parameters.TryGetValue(name, out var value) ? value : null;

    public string Required(string name) =>
        Get(name) is { Length: > 0 } value ? value : throw Ec2ErrorException.Missing(name);

    public int? GetInt(string name)
    {
        var raw = Get(name);
        if (raw is null)
        {
            return null;
        }
        return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Ec2ErrorException.InvalidValue(name, raw, "It must be an integer.");
    }

    public bool? GetBool(string name)
    {
        var raw = Get(name);
        return raw switch
        {
            null => null,
            _ when raw.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
            _ when raw.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw Ec2ErrorException.InvalidValue(name, raw, "It must be true or false."),
        };
    }

    /// <summary>Values of Name.1, Name.2, … in index order.</summary>
    public IReadOnlyList<string> GetList(string name) =>
        Parameters
            .Select(p => (p, m: IndexedName().Match(p.Key)))
            .Where(x => x.m.Success && x.m.Groups["name"].Value == name)
            .OrderBy(x => int.Parse(x.m.Groups["index"].Value, CultureInfo.InvariantCulture))
            .Select(x => x.p.Value)
            .ToList();

    /// <summary>Indexes N present under Prefix.N.* in order.</summary>
    public IReadOnlyList<int> Indexes(string prefix)
    {
        var start = prefix + ".";
        return Parameters.Keys
            .Where(k => k.StartsWith(start, StringComparison.Ordinal))
            .Select(k => k[start.Length..].Split('.')[0])
            .Select(i => int.TryParse(i, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            .Where(n => n >= 0)
            .Distinct()
            .Order()
            .ToList();
    }

    public IReadOnlyList<Ec2Filter> GetFilters() =>
        Indexes("Filter")
            .Select(i => new Ec2Filter(
                Get($"Filter.{i}.Name") ?? throw Ec2ErrorException.Missing($"Filter.{i}.Name"),
                GetList($"Filter.{i}.Value")))
            .ToList();

    /// <summary>Tags under Prefix.N.Key / Prefix.N.Value (Value may be absent: DeleteTags).</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> GetTags(string prefix) =>
        Indexes(prefix)
            .Select(i => new KeyValuePair<string, string?>(
                Get($"{prefix}.{i}.Key") ?? throw Ec2ErrorException.Missing($"{prefix}.{i}.Key"),
                Get($"{prefix}.{i}.Value")))
            .ToList();

    /// <summary>Tags of TagSpecification.N whose ResourceType must be <paramref name="resourceType"/>.</summary>
    public IReadOnlyDictionary<string, string> GetTagSpecifications(string resourceType)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var i in Indexes("TagSpecification"))
        {
            var type = Get($"TagSpecification.{i}.ResourceType") ?? throw Ec2ErrorException.Missing($"TagSpecification.{i}.ResourceType");
            if (type != resourceType)
            {
                throw new Ec2ErrorException("InvalidParameterValue", $"'{type}' is not a valid taggable resource type for this operation.");
            }
            foreach (var tag in GetTags($"TagSpecification.{i}.Tag"))
            {
                if (!tags.TryAdd(tag.Key, tag.Value ?? ""))
                {
                    throw new Ec2ErrorException("InvalidParameterValue", $"The tag key '{tag.Key}' is specified more than once.");
                }
            }
        }
        Ec2Tags.Validate(tags);
        return tags;
    }

    /// <summary>What an idempotent replay must match: every parameter except the token itself.</summary>
    public string Fingerprint() =>
        string.Join("&", Parameters
            .Where(p => p.Key is not ("ClientToken" or "Action" or "Version"))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));

    [GeneratedRegex(@"^(?<name>.+)\.(?<index>\d+)$")]
    private static partial Regex IndexedName();
}

/// <summary>EC2's tag rules.</summary>
internal static class Ec2Tags
{
    public static void Validate(IReadOnlyDictionary<string, string> tags)
    {
        if (tags.Count > 50)
        {
            throw new Ec2ErrorException("TagLimitExceeded", "The maximum number of tags per resource is 50.");
        }
        foreach (var (key, value) in tags)
        {
            if (key.Length is 0 or > 128)
            {
                throw new Ec2ErrorException("InvalidParameterValue", $"Tag key must be 1 to 128 characters, got {key.Length}.");
            }
            if (value.Length > 256)
            {
                throw new Ec2ErrorException("InvalidParameterValue", $"Tag value for key '{key}' exceeds 256 characters.");
            }
            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
            {
                throw new Ec2ErrorException("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use");
            }
        }
    }
}
