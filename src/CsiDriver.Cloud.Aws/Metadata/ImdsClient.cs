using System.Globalization;
using System.Net;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Metadata;

/// <summary>
/// The EC2 instance metadata service, IMDSv2 only: a session token from PUT /latest/api/token (with a TTL
/// header), then GETs carrying the token. The token is reused until shortly before it expires.
/// </summary>
public sealed class ImdsClient(HttpClient http, TimeProvider? time = null)
{
    public const string TokenTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
    public const string TokenHeader = "X-aws-ec2-metadata-token";

    private static readonly TimeSpan TokenTtl = TimeSpan.FromHours(6);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private string? _token;
    private DateTimeOffset _tokenRefreshAt;

    /// <summary>A metadata value (path below /latest/meta-data/), or null when IMDS says 404.</summary>
    public async Task<string?> GetAsync(string path, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/latest/meta-data/" + path.TrimStart('/'));
        request.Headers.Add(TokenHeader, token);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            // The token expired early (instance stop/start): get a new one next time.
            _token = null;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw StorageException.Unavailable($"IMDS GET {path} answered {(int)response.StatusCode}");
        }
        return (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
    }

    /// <summary>Everything the driver needs about this instance.</summary>
    public async Task<InstanceMetadata> GetInstanceMetadataAsync(CancellationToken cancellationToken)
    {
        var instanceId = await RequiredAsync("instance-id", cancellationToken).ConfigureAwait(false);
        var zone = await RequiredAsync("placement/availability-zone", cancellationToken).ConfigureAwait(false);
        var zoneId = await GetAsync("placement/availability-zone-id", cancellationToken).ConfigureAwait(false);
        var region = await GetAsync("placement/region", cancellationToken).ConfigureAwait(false)
            ?? InstanceMetadata.RegionOfZone(zone)
            ?? throw StorageException.Unavailable($"IMDS gave no region and zone {zone} names none");
        var instanceType = await GetAsync("instance-type", cancellationToken).ConfigureAwait(false);
        var outpost = await GetAsync("outpost-arn", cancellationToken).ConfigureAwait(false);
        var macs = await GetAsync("network/interfaces/macs/", cancellationToken).ConfigureAwait(false);
        var mappings = await GetAsync("block-device-mapping/", cancellationToken).ConfigureAwait(false);
        return new InstanceMetadata(instanceId, region, zone, zoneId, instanceType, outpost,
            NetworkInterfaces: Math.Max(1, Lines(macs).Count()),
            EbsVolumesAtLaunch: Math.Max(1, CountLaunchEbs(Lines(mappings))));
    }

    /// <summary>EBS volumes of the launch mapping: "root" (or "ami") once, plus each "ebsN".</summary>
    internal static int CountLaunchEbs(IEnumerable<string> entries)
    {
        var list = entries.ToList();
        var root = list.Any(e => e is "root" or "ami") ? 1 : 0;
        return root + list.Count(e => e.StartsWith("ebs", StringComparison.Ordinal));
    }

    private static IEnumerable<string> Lines(string? text) =>
        (text ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private async Task<string> RequiredAsync(string path, CancellationToken cancellationToken) =>
        await GetAsync(path, cancellationToken).ConfigureAwait(false)
        ?? throw StorageException.Unavailable($"IMDS has no {path}");

    private async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        if (_token is { } cached && _time.GetUtcNow() < _tokenRefreshAt)
        {
            return cached;
        }
        await _tokenLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } again && _time.GetUtcNow() < _tokenRefreshAt)
            {
                return again;
            }
            using var request = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
            request.Headers.Add(TokenTtlHeader, ((int)TokenTtl.TotalSeconds).ToString(CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw StorageException.Unavailable($"IMDSv2 token request answered {(int)response.StatusCode}");
            }
            var token = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
            _token = token;
            _tokenRefreshAt = _time.GetUtcNow() + (TokenTtl * 0.8);
            return token;
        }
        finally
        {
            _tokenLock.Release();
        }
    }
}
