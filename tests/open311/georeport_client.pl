#!/usr/bin/perl
# georeport_client.pl — an Open311 GeoReport v2 client written from the
# specification (open311.github.io GeoReport/v2, Service_Discovery,
# FixMyStreet's servicerequestupdates), reading XML the way FixMyStreet's
# Open311 client does: XML::Simple with ForceArray on service, attribute,
# value, request, error, request_update and group, KeyAttr off,
# SuppressEmpty. Every XML answer is also checked well formed by xmllint.
#
# Run by tests/integration/test_open311 against a daemon it started:
#   CG_O311_BASE   http://127.0.0.1:PORT/open311/v2
#   CG_O311_KEY    a live api_key (named CG_O311_KEY_NAME)
#   CG_O311_KEY2   a second platform's key
#   CG_API_BASE    http://127.0.0.1:PORT (for staff actions)
#   CG_ADMIN_TOKEN the admin's bearer token
# Prints one line per check ("ok N - ..." / "not ok N - ..."), exits 1 on
# any failure.
use strict;
use warnings;
use utf8;
use Encode qw(decode encode);
use LWP::UserAgent;
use HTTP::Request::Common qw(GET POST);
use XML::Simple;
use JSON::PP;
use IPC::Open3;
use Time::HiRes qw(sleep time);

binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';

my $base  = $ENV{CG_O311_BASE}  or die "CG_O311_BASE not set\n";
my $key   = $ENV{CG_O311_KEY}   or die "CG_O311_KEY not set\n";
my $key2  = $ENV{CG_O311_KEY2}  or die "CG_O311_KEY2 not set\n";
my $api   = $ENV{CG_API_BASE}   or die "CG_API_BASE not set\n";
my $admin = $ENV{CG_ADMIN_TOKEN} or die "CG_ADMIN_TOKEN not set\n";
my $jurisdiction = 'lishui.gov.cn';

my $ua = LWP::UserAgent->new(timeout => 30, agent => 'citygrid-georeport-test/1');
my $json = JSON::PP->new->utf8;
my ($n, $failed) = (0, 0);

sub ok {
    my ($cond, $what, $detail) = @_;
    $n++;
    if ($cond) {
        print "ok $n - $what\n";
    } else {
        $failed++;
        print "not ok $n - $what\n";
        print "#   $detail\n" if defined $detail;
    }
    return $cond;
}

# FixMyStreet's reading of an Open311 answer (perllib/Open311.pm).
sub xml_object {
    my ($xml) = @_;
    my $simple = XML::Simple->new(
        ForceArray => [qw/service attribute value request error request_update group/],
        KeyAttr => {},
        SuppressEmpty => 1,
    );
    my $obj = eval { $simple->parse_string($xml) };
    return $obj;
}

sub xml_well_formed {
    my ($bytes) = @_;
    my $pid = open3(my $in, my $out, undef, 'xmllint', '--noout', '-');
    binmode $in;
    print $in $bytes;
    close $in;
    my $msg = do { local $/; <$out> } // '';
    waitpid $pid, 0;
    return ($? == 0, $msg);
}

# GET base/PATH with params; returns (status, decoded object, raw bytes).
sub get {
    my ($path, %params) = @_;
    my $uri = URI->new("$base/$path");
    $uri->query_form(map { encode('UTF-8', $_) } %params);
    my $res = $ua->request(GET $uri);
    return answer($path, $res);
}

sub post {
    my ($path, @pairs) = @_;
    # A form carries UTF-8 bytes (HTTP::Request::Common sends what it gets).
    my @bytes = map { encode('UTF-8', $_) } @pairs;
    my $res = $ua->request(POST "$base/$path", \@bytes);
    return answer($path, $res);
}

sub answer {
    my ($path, $res) = @_;
    my $raw = $res->content;
    my $obj;
    if ($path =~ /\.xml$/) {
        my ($wf, $msg) = xml_well_formed($raw);
        ok($wf, "$path: XML is well formed", $msg) or return ($res->code, undef, $raw);
        ok(($res->header('Content-Type') // '') =~ m{^text/xml}, "$path: text/xml");
        $obj = xml_object($raw);
    } else {
        ok(($res->header('Content-Type') // '') =~ m{^application/json}, "$path: application/json");
        $obj = eval { $json->decode($raw) };
    }
    return ($res->code, $obj, $raw);
}

# The spec's error shape: XML <errors><error><code/><description/></error>,
# JSON [{"code","description"}].
sub expect_error {
    my ($what, $want, $code, $obj, $raw) = @_;
    ok($code == $want, "$what: HTTP $want", "got $code: " . decode('UTF-8', $raw // ''));
    my $errors = ref $obj eq 'HASH' ? $obj->{error} : $obj;
    ok(ref $errors eq 'ARRAY' && @$errors >= 1 && ($errors->[0]{code} // '') eq $want &&
           length($errors->[0]{description} // '') > 0,
       "$what: errors list with code $want and a description", decode('UTF-8', $raw // ''));
}

my $w3c = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;

# ---------------------------------------------------------------- discovery
for my $f (qw(xml json)) {
    my ($code, $d, $raw) = get("discovery.$f");
    ok($code == 200, "discovery.$f: 200");
    my $ep = $f eq 'xml' ? $d->{endpoints}{endpoint} : $d->{endpoints};
    $ep = [$ep] if ref $ep eq 'HASH';
    ok(ref $ep eq 'ARRAY' && $ep->[0]{specification} =~ /GeoReport_v2/ && $ep->[0]{url} =~ m{/open311/v2$},
       "discovery.$f: an endpoint with the GeoReport v2 specification", decode('UTF-8', $raw));
    ok(($d->{changeset} // '') =~ $w3c, "discovery.$f: changeset is a W3C datetime");
}

# ---------------------------------------------------------------- services
my ($code, $obj, $raw) = get('services.xml', jurisdiction_id => $jurisdiction);
ok($code == 200, 'services.xml: 200');
my $services = $obj->{service} // [];
ok(@$services >= 19, 'services.xml: the catalog\'s categories (' . scalar(@$services) . ')');
my %svc = map { $_->{service_code} => $_ } @$services;
ok($svc{street_stall} && $svc{street_stall}{service_name} eq '占道摆摊', 'street_stall is 占道摆摊');
ok($svc{street_stall} && $svc{street_stall}{group}[0] eq '综合行政执法', 'its group is the department 综合行政执法');
ok($svc{street_stall} && $svc{street_stall}{metadata} eq 'true', 'street_stall has metadata (attributes)');
ok(!grep({ $_->{metadata} !~ /^(true|false)$/ } @$services), 'metadata is true or false');
ok(!grep({ ($_->{type} // '') !~ /^(realtime|batch|blackbox)$/ } @$services), 'every type is realtime, batch or blackbox');

my ($jc, $jservices) = get('services.json');
ok($jc == 200 && ref $jservices eq 'ARRAY' && @$jservices == @$services, 'services.json lists the same services');
my ($jstall) = grep { $_->{service_code} eq 'street_stall' } @$jservices;
ok($jstall && $jstall->{metadata} == JSON::PP::true && $jstall->{group} eq '综合行政执法', 'services.json: metadata true, group');

# jurisdiction rules
($code, $obj, $raw) = get('services.xml', jurisdiction_id => 'elsewhere.gov');
expect_error('services.xml for another jurisdiction', 404, $code, $obj, $raw);
($code, $obj, $raw) = get('services.json', jurisdiction_id => '');
ok($code == 200, 'an empty jurisdiction_id counts as absent');

# service definitions
($code, $obj, $raw) = get('services/six_small_trades.xml');
ok($code == 200, 'services/six_small_trades.xml: 200', decode('UTF-8', $raw));
my $attrs = $obj->{attributes}{attribute} // [];
my %attr = map { $_->{code} => $_ } @$attrs;
ok($attr{licence_no} && $attr{licence_no}{datatype} eq 'string', 'market\'s licence_no is a string attribute');
ok($attr{needs_penalty} && $attr{needs_penalty}{datatype} eq 'singlevaluelist' &&
   @{$attr{needs_penalty}{values}{value}} == 2, 'needs_penalty is a singlevaluelist of two values');
ok($attr{trade_types} && $attr{trade_types}{datatype} eq 'multivaluelist' &&
   (grep { $_->{key} eq 'eatery' } @{$attr{trade_types}{values}{value}}), 'trade_types is a multivaluelist with eatery');
ok(!grep({ $_->{datatype} !~ /^(string|number|datetime|text|singlevaluelist|multivaluelist)$/ } @$attrs),
   'every datatype is one the spec defines');
ok(!grep({ $_->{variable} ne 'true' && $_->{variable} ne 'false' } @$attrs), 'variable is true or false');
($code, $obj) = get('services/traffic_safety.json');
ok($code == 200 && $obj->{service_code} eq 'traffic_safety' &&
   (grep { $_->{code} eq 'injuries' } @{$obj->{attributes}}), 'police\'s injuries attribute (JSON)');
($code, $obj, $raw) = get('services/no_such_thing.xml');
expect_error('an unknown service', 404, $code, $obj, $raw);

# ---------------------------------------------------------------- POST requests
my @where = (lat => '28.45', long => '119.92');

($code, $obj, $raw) = post('requests.xml', service_code => 'street_stall', @where, description => '无密钥');
expect_error('POST without api_key', 403, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.xml', api_key => 'f' x 64, service_code => 'street_stall', @where);
expect_error('POST with a bad api_key', 403, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.xml', api_key => $key, jurisdiction_id => 'elsewhere.gov',
                           service_code => 'street_stall', @where);
expect_error('POST to another jurisdiction', 404, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.xml', api_key => $key, service_code => 'street_stall',
                           address_string => '丽水市莲都区中山街 1 号');
expect_error('address_string without a geocoder', 400, $code, $obj, $raw);
ok(decode('UTF-8', $raw) =~ /geocoder/, 'the refusal says a geocoder is needed');
($code, $obj, $raw) = post('requests.xml', api_key => $key, service_code => 'street_stall', lat => '28.45');
expect_error('lat without long', 400, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.xml', api_key => $key, service_code => 'nope', @where);
expect_error('an unknown service_code', 400, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.json', api_key => $key, service_code => 'street_stall', @where,
                           description => ('长' x 4001));
expect_error('a description of 4001 characters', 400, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.json', api_key => $key, service_code => 'street_stall', @where,
                           'attribute[injuries]' => 'true');
expect_error('an attribute the service does not have', 400, $code, $obj, $raw);
($code, $obj, $raw) = post('requests.json', api_key => $key, service_code => 'street_stall', @where,
                           'attribute[needs_penalty]' => 'maybe');
expect_error('a value the list does not have', 400, $code, $obj, $raw);

# A full report, with empty optional parameters (absent) and a multivaluelist.
my $long_text = '店外占道经营，' x 580;   # 4,000 characters: at the limit
($code, $obj, $raw) = post('requests.xml',
    api_key => $key, jurisdiction_id => $jurisdiction, service_code => 'six_small_trades', @where,
    description => substr($long_text, 0, 4000), media_url => 'https://i.lishui.example/p/1.jpg',
    email => 'citizen@example.cn', first_name => '小明', last_name => '王', phone => '13800000000',
    device_id => '', account_id => 'acct-7', address_string => '',
    'attribute[trade_types][]' => 'eatery', 'attribute[trade_types][]' => 'salon',
    'attribute[needs_penalty]' => 'true', 'attribute[licence_no]' => '');
ok($code == 201, 'POST requests.xml: 201', decode('UTF-8', $raw));
my $sr = $obj->{request}[0] // {};
my $id = $sr->{service_request_id} // '';
ok($id =~ /^C\d+$/, "the answer is the service_request_id ($id)");
ok(($sr->{account_id} // '') eq 'acct-7', 'the answer echoes account_id');

# The case as staff see it: attributes, source, media link; no contact details.
my $case = $json->decode($ua->request(GET "$api/v1/cases/$id", Authorization => "Bearer $admin")->content);
ok(($case->{source} // '') eq 'open311:' . $ENV{CG_O311_KEY_NAME}, 'the case records the key as its source');
ok(ref $case->{extra}{trade_types} eq 'ARRAY' && "@{$case->{extra}{trade_types}}" eq 'eatery salon',
   'attribute[trade_types][] kept both values in order');
ok($case->{needs_penalty}, 'attribute[needs_penalty]=true set the case\'s needs_penalty');
ok(!exists $case->{extra}{licence_no}, 'an empty attribute counts as absent');
ok(($case->{extra}{media_url} // '') eq 'https://i.lishui.example/p/1.jpg', 'media_url kept as a link');
my $case_text = $json->encode($case);
ok($case_text !~ /13800000000|citizen\@example/, 'the case JSON shows no contact details');
ok(length($case->{description} // '') == 4000, 'a description of 4000 characters is kept whole');

# A second report in JSON, as the other platform.
($code, $obj, $raw) = post('requests.json', api_key => $key2, service_code => 'traffic_safety', @where,
                           description => '路口信号灯故障', 'attribute[injuries]' => 'false',
                           phone => '13900000000');
ok($code == 201 && ref $obj eq 'ARRAY' && ($obj->[0]{service_request_id} // '') =~ /^C\d+$/,
   'POST requests.json: 201 and [{service_request_id}]', decode('UTF-8', $raw // ''));
my $id2 = ref $obj eq 'ARRAY' ? $obj->[0]{service_request_id} : '';

# ---------------------------------------------------------------- GET requests
($code, $obj, $raw) = get("requests/$id.xml");
ok($code == 200, "requests/$id.xml: 200");
my $r = $obj->{request}[0] // {};
ok(($r->{service_request_id} // '') eq $id, 'requests/{id}: its id');
ok(($r->{status} // '') eq 'open', 'requests/{id}: open');
ok(($r->{service_code} // '') eq 'six_small_trades', 'requests/{id}: service_code');
ok(($r->{agency_responsible} // '') eq '市场监管', 'agency_responsible is the department\'s Chinese name');
ok(($r->{requested_datetime} // '') =~ /\+08:00$/ && $r->{requested_datetime} =~ $w3c,
   'requested_datetime is W3C with +08:00');
ok(($r->{updated_datetime} // '') =~ $w3c, 'updated_datetime is W3C');
ok(($r->{expected_datetime} // '') =~ $w3c, 'expected_datetime (the deadline) is W3C');
ok(abs(($r->{lat} // 0) - 28.45) < 1e-9 && abs(($r->{long} // 0) - 119.92) < 1e-9, 'lat and long');
ok(($r->{media_url} // '') eq 'https://i.lishui.example/p/1.jpg', 'media_url');
ok(!exists $r->{email} && !exists $r->{phone}, 'no contact details without the reporting key');
($code, $obj) = get("requests/$id.json", api_key => $key);
ok($code == 200 && ($obj->[0]{email} // '') eq 'citizen@example.cn' && ($obj->[0]{phone} // '') eq '13800000000',
   'the reporting key sees its contact details');
($code, $obj) = get("requests/$id.json", api_key => $key2);
ok($code == 200 && !exists $obj->[0]{email} && !exists $obj->[0]{phone}, 'another key does not');
($code, $obj, $raw) = get('requests/C99999999.xml');
expect_error('an unknown request', 404, $code, $obj, $raw);
($code, $obj, $raw) = get("requests/$id.json", jurisdiction_id => 'elsewhere.gov');
expect_error('requests/{id} in another jurisdiction', 404, $code, $obj, $raw);

($code, $obj) = get('requests.xml', service_request_id => "$id,$id2");
my @got = map { $_->{service_request_id} } @{$obj->{request} // []};
ok($code == 200 && (grep { $_ eq $id } @got) && (grep { $_ eq $id2 } @got) && @got == 2,
   'service_request_id takes a comma list');
($code, $obj) = get('requests.json', service_code => 'traffic_safety', service_request_id => '');
ok($code == 200 && (grep { $_->{service_request_id} eq $id2 } @$obj) &&
   !(grep { $_->{service_code} ne 'traffic_safety' } @$obj), 'service_code filters (empty id list = absent)');
($code, $obj) = get('requests.json');
ok($code == 200 && (grep { $_->{service_request_id} eq $id } @$obj), 'by default the last 90 days');
($code, $obj) = get('requests.json', status => 'closed');
ok($code == 200 && !(grep { $_->{status} ne 'closed' } @$obj) && !(grep { $_->{service_request_id} eq $id } @$obj),
   'status=closed leaves out the open ones');
($code, $obj) = get('requests.json', status => 'open');
ok($code == 200 && (grep { $_->{service_request_id} eq $id } @$obj), 'status=open has it');
($code, $obj, $raw) = get('requests.xml', start_date => '2026-01-01T00:00:00+08:00',
                          end_date => '2026-06-01T00:00:00+08:00');
expect_error('a window of more than 90 days', 400, $code, $obj, $raw);
($code, $obj, $raw) = get('requests.xml', start_date => 'yesterday');
expect_error('a start_date that is not W3C', 400, $code, $obj, $raw);
($code, $obj) = get('requests.json', start_date => '2000-01-01T00:00:00Z', end_date => '2000-02-01T00:00:00Z');
ok($code == 200 && ref $obj eq 'ARRAY' && @$obj == 0, 'a window without cases is an empty list');

# tokens
($code, $obj) = get("tokens/$id.xml");
ok($code == 200 && ($obj->{request}[0]{service_request_id} // '') eq $id, 'tokens/{token} resolves to the request');
($code, $obj, $raw) = get('tokens/C99999999.json');
expect_error('an unknown token', 404, $code, $obj, $raw);

# ---------------------------------------------------------------- updates feed
my $run_updates = !$ENV{CG_O311_NO_UPDATES};
if ($run_updates) {
    ($code, $obj, $raw) = get('servicerequestupdates.xml');
    expect_error('updates without api_key', 403, $code, $obj, $raw);

    # Staff act on the traffic case of key2: the police plugin accepts it,
    # the admin handles it and reviews it closed.
    my $deadline = time + 20;
    my $status = '';
    while (time < $deadline) {
        my $c = $json->decode($ua->request(GET "$api/v1/cases/$id2", Authorization => "Bearer $admin")->content);
        $status = $c->{status} // '';
        last if $status eq 'accepted';
        sleep 0.1;
    }
    ok($status eq 'accepted', "the department accepted $id2 ($status)");
    for my $body ('{"action":"handle","note":"信号灯已修复"}', '{"action":"review","result":"pass","note":"复核通过"}') {
        my $res = $ua->request(POST "$api/v1/cases/$id2/actions", Authorization => "Bearer $admin",
                               'Content-Type' => 'application/json', Content => encode('UTF-8', $body));
        ok($res->code == 200, "staff: $body", $res->code . ' ' . decode('UTF-8', $res->content));
    }
    ($code, $obj, $raw) = get('servicerequestupdates.xml', api_key => $key2,
                              start_date => '', end_date => '');
    ok($code == 200, 'servicerequestupdates.xml: 200', decode('UTF-8', $raw));
    my @u = grep { $_->{service_request_id} eq $id2 } @{$obj->{request_update} // []};
    my @st = map { $_->{status} } @u;
    ok("@st" eq 'open open action_scheduled in_progress fixed', "the updates of $id2: @st");
    ok(!(grep { ($_->{update_id} // '') eq '' || ($_->{updated_datetime} // '') !~ $w3c } @u),
       'each update has an update_id and a W3C updated_datetime');
    ok(!(grep { ($_->{description} // '') =~ /M\d{5}|assigned/ } @u), 'no department note naming staff');
    my ($fixed) = grep { $_->{status} eq 'fixed' } @u;
    ok($fixed && ($fixed->{description} // '') =~ /复核通过/, 'the closing update carries its public note');
    ($code, $obj) = get('servicerequestupdates.json', api_key => $key);
    ok($code == 200 && ref $obj eq 'ARRAY' && !(grep { $_->{service_request_id} eq $id2 } @$obj) &&
       (grep { $_->{service_request_id} eq $id } @$obj), 'another key sees only its own cases\' updates');
    ($code, $obj, $raw) = get('servicerequestupdates.xml', api_key => $key2,
                              start_date => '2026-01-01T00:00:00+08:00', end_date => '2026-12-01T00:00:00+08:00');
    expect_error('updates over more than 90 days', 400, $code, $obj, $raw);
    ($code, $obj) = get("requests/$id2.json");
    ok($code == 200 && $obj->[0]{status} eq 'closed' && ($obj->[0]{status_notes} // '') =~ /复核通过/,
       'requests/{id}: closed, status_notes from the history');

    # The citizen's side: a comment, then a reopen of the closed case.
    ($code, $obj, $raw) = post('servicerequestupdates.xml', api_key => $key, service_request_id => $id2,
                               description => '别人的案件', status => 'OPEN');
    expect_error('an update on another key\'s case', 403, $code, $obj, $raw);
    ($code, $obj, $raw) = post('servicerequestupdates.xml', service_request_id => $id2, description => 'x');
    expect_error('an update without api_key', 403, $code, $obj, $raw);
    ($code, $obj, $raw) = post('servicerequestupdates.json', api_key => $key2, description => 'x');
    expect_error('an update without service_request_id', 400, $code, $obj, $raw);
    ($code, $obj, $raw) = post('servicerequestupdates.json', api_key => $key2, service_request_id => 'C99999999',
                               description => 'x');
    expect_error('an update of an unknown request', 404, $code, $obj, $raw);
    ($code, $obj, $raw) = post('servicerequestupdates.xml', api_key => $key2, service_request_id => $id2,
                               description => '谢谢，已经好了', status => 'CLOSED', media_url => '',
                               email => '', update_id => 'fms-1');
    ok($code == 201 && ($obj->{request_update}[0]{update_id} // '') =~ /^\d+$/,
       'a comment: 201 with an update_id', decode('UTF-8', $raw));
    ($code, $obj, $raw) = post('servicerequestupdates.json', api_key => $key2, service_request_id => $id2,
                               description => '信号灯又坏了', status => 'OPEN');
    ok($code == 201 && ref $obj eq 'ARRAY' && ($obj->[0]{update_id} // '') =~ /^\d+$/,
       'a reopen: 201 with an update_id', decode('UTF-8', $raw // ''));
    ($code, $obj) = get("requests/$id2.json");
    ok($code == 200 && $obj->[0]{status} eq 'open', 'the reopened request is open again');
    ($code, $obj) = get('servicerequestupdates.json', api_key => $key2);
    my @after = grep { $_->{service_request_id} eq $id2 } @$obj;
    my @st2 = map { $_->{status} } @after;
    # (the department may already have accepted the reopened case again)
    ok("@st2" =~ /^open open action_scheduled in_progress fixed fixed open( action_scheduled)?$/,
       "after the citizen: @st2");
    ok(($after[5]{description} // '') =~ /谢谢/ && ($after[6]{description} // '') =~ /又坏了/,
       'the comment and the reopen carry the citizen\'s words');
}

print "1..$n\n";
print "# $failed of $n checks failed\n" if $failed;
exit($failed ? 1 : 0);
