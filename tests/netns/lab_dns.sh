# shellcheck shell=bash
# The namespace lab's DNS hierarchy: built-in zones, lab_zone/lab_records,
# signing with ldns, the three nsd instances, and a throwaway validating
# Unbound. Sourced by lib.sh (see its header for the layout); not on its own.

# --------------------------------------------------------------- zones ----

lab__canon() { # lab__canon NAME -> lower case, absolute
	local z=${1,,}
	[ "$z" = . ] || z=${z%.}.
	echo "$z"
}

lab__zone_src() { # lab__zone_src ZONE -> source file
	if [ "$1" = . ]; then echo "$LAB_DIR/zones-src/root.zone"; else echo "$LAB_DIR/zones-src/${1%.}.zone"; fi
}

lab__is_zone() {
	[ -n "${LAB_ZONE_MODE[$1]:-}" ]
}

# The lab zone that delegates ZONE: its closest enclosing zone.
lab__parent_zone() {
	local p=$1
	while [ "$p" != . ]; do
		p=${p#*.}
		[ -z "$p" ] && p=.
		if lab__is_zone "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Which nsd instance serves ZONE: root, arpa or ns.
lab__zone_server() {
	case $1 in
	.) echo root ;;
	arpa. | in-addr.arpa. | ip6.arpa.) echo arpa ;;
	*) echo ns ;;
	esac
}

lab__zone_nsnames() { # the NS names of ZONE
	local l
	case $1 in
	.) for l in "${LAB_ROOT_NAMES[@]}"; do echo "$l.root-servers.net."; done ;;
	arpa.) echo a.ns.arpa. ;;
	in-addr.arpa.) echo a.in-addr-servers.arpa. ;;
	ip6.arpa.) echo a.ip6-servers.arpa. ;;
	*) echo ns1.example.; echo ns2.example. ;;
	esac
}

lab__ns_addr() { # IPv4 address of a name server name
	local i
	case $1 in
	ns1.example.) echo "$LAB_NS1_4" ;;
	ns2.example.) echo "$LAB_NS2_4" ;;
	a.ns.arpa.) echo "$LAB_ARPA4" ;;
	a.in-addr-servers.arpa.) echo "$LAB_INADDR4" ;;
	a.ip6-servers.arpa.) echo "$LAB_IP6ARPA4" ;;
	*.root-servers.net.)
		for i in "${!LAB_ROOT_NAMES[@]}"; do
			[ "${LAB_ROOT_NAMES[$i]}.root-servers.net." = "$1" ] && echo "${LAB_ROOT4[$i]}"
		done ;;
	esac
}

# lab_zone NAME FILE [signed|unsigned|bogus]: adds the zone NAME (before
# lab_dns_start). FILE is a zone file body; relative names are relative to
# NAME. When it has no SOA record, the lab adds the SOA and NS records
# (ns1.example. and ns2.example., where the zone is served). The zone is
# delegated from its closest enclosing lab zone: a TLD such as `lab.` from
# the root, `foo.example.` from example., `x.99.88.192.in-addr.arpa.` from
# 99.88.192.in-addr.arpa., and so on (intermediate names need no zone).
#   signed   (default) signed, DS in the parent: answers validate (AD)
#   unsigned no DS in the parent: provably insecure
#   bogus    signed, but the parent's DS is of another key: validation
#            fails (SERVFAIL; +cd shows the data)
# Giving the name of a built-in zone (example., say) replaces its content.
lab_zone() {
	local -; set +eu
	local z mode=${3:-signed}
	z=$(lab__canon "$1")
	case $mode in signed | unsigned | bogus) ;; *) lab__bail "lab_zone $1: mode $mode";; esac
	[ -r "$2" ] || lab__bail "lab_zone $1: cannot read $2"
	[ -z "$LAB_DNS_STARTED" ] || lab__bail "lab_zone $1: call it before lab_dns_start"
	cp "$2" "$(lab__zone_src "$z")"
	lab__is_zone "$z" || LAB_ZONES+=("$z")
	LAB_ZONE_MODE[$z]=$mode
}

# lab_records ZONE LINE...: appends resource records to a zone (built-in or
# added) before lab_dns_start, e.g. lab_records example. 'big A 192.88.99.80'.
lab_records() {
	local -; set +eu
	local z
	z=$(lab__canon "$1")
	shift
	lab__is_zone "$z" || lab__bail "lab_records: no zone $z"
	printf '%s\n' "$@" >>"$(lab__zone_src "$z")"
}

# lab_records_seq ZONE OWNER TYPE FORMAT FIRST LAST: lab_records with one
# "OWNER TYPE DATA" for each i from FIRST to LAST, DATA = printf FORMAT i,
# e.g. lab_records_seq example. many A '192.88.99.%d' 101 140.
lab_records_seq() {
	local zone=$1 owner=$2 type=$3 fmt=$4 i rrs=()
	for ((i = $5; i <= $6; i++)); do
		# shellcheck disable=SC2059 # the format is the caller's
		rrs+=("$owner $type $(printf "$fmt" "$i")")
	done
	lab_records "$zone" "${rrs[@]}"
}

lab__ptr() { # reverse-mapping name of an address (no subprocess: it is called often)
	local a=$1 head tail hex="" out="" g i h=() t=()
	if [[ $a != *:* ]]; then
		IFS=. read -ra h <<<"$a"
		echo "${h[3]}.${h[2]}.${h[1]}.${h[0]}.in-addr.arpa."
		return
	fi
	if [[ $a == *::* ]]; then head=${a%%::*} tail=${a#*::}; else head=$a tail=; fi
	[ -n "$head" ] && IFS=: read -ra h <<<"$head"
	[ -n "$tail" ] && IFS=: read -ra t <<<"$tail"
	local groups=("${h[@]}")
	for ((i = ${#h[@]} + ${#t[@]}; i < 8; i++)); do groups+=(0); done
	groups+=("${t[@]}")
	for g in "${groups[@]}"; do
		printf -v g '%04x' "0x$g"
		hex+=$g
	done
	for ((i = 31; i >= 0; i--)); do out+="${hex:i:1}."; done
	echo "${out}ip6.arpa."
}

lab__builtin_zone() { # lab__builtin_zone NAME MODE <<body
	local z=$1
	cat >"$(lab__zone_src "$z")"
	LAB_ZONES+=("$z")
	LAB_ZONE_MODE[$z]=$2
}

lab__builtin_zones() {
	local i root="; the lab has no net. zone: the root servers' addresses live here"
	for i in "${!LAB_ROOT_NAMES[@]}"; do
		root+=$'\n'"${LAB_ROOT_NAMES[$i]}.root-servers.net. A ${LAB_ROOT4[$i]}"
	done
	lab__builtin_zone . signed <<<"$root"
	lab__builtin_zone arpa. signed <<EOF
a.ns.arpa. A $LAB_ARPA4
a.in-addr-servers.arpa. A $LAB_INADDR4
a.ip6-servers.arpa. A $LAB_IP6ARPA4
EOF
	lab__builtin_zone in-addr.arpa. signed </dev/null
	lab__builtin_zone ip6.arpa. signed </dev/null
	# RFC 7050 section 8.1 / RFC 8880: ipv4only.arpa is delegated insecurely.
	lab__builtin_zone ipv4only.arpa. unsigned <<EOF
@ A 192.0.0.170
@ A 192.0.0.171
EOF
	lab__builtin_zone example. signed <<EOF
ns1 A $LAB_NS1_4
ns2 A $LAB_NS2_4
dns A $LAB_DNS4
nat64 A $LAB_APPL4
nat64 AAAA $LAB_APPL6
client AAAA $LAB_CLIENT6
www A $LAB_SERVER4
www2 A $LAB_SERVER4_ALT
multi A $LAB_SERVER4
multi A $LAB_SERVER4_ALT
dual A $LAB_SERVER4
dual AAAA $LAB_DUAL6
v6only AAAA $LAB_V6ONLY6
cname CNAME www
nodata TXT "this name has no A and no AAAA record"
EOF
	lab__builtin_zone 99.88.192.in-addr.arpa. signed <<EOF
$(lab__ptr "$LAB_APPL4") PTR nat64.example.
$(lab__ptr "$LAB_NS1_4") PTR ns1.example.
$(lab__ptr "$LAB_NS2_4") PTR ns2.example.
$(lab__ptr "$LAB_DNS4") PTR dns.example.
$(lab__ptr "$LAB_ARPA4") PTR a.ns.arpa.
$(lab__ptr "$LAB_SERVER4") PTR www.example.
$(lab__ptr "$LAB_SERVER4_ALT") PTR www2.example.
EOF
	lab__builtin_zone 1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. signed <<EOF
$(lab__ptr "$LAB_APPL6") PTR nat64.example.
$(lab__ptr "$LAB_CLIENT6") PTR client.example.
EOF
}

lab__labels() { # number of labels of an absolute name
	[ "$1" = . ] && { echo 0; return; }
	local dots=${1//[^.]/}
	echo ${#dots}
}

# Builds every zone file, children first so their DS records can go into
# the parent before it is signed.
lab__build_zones() {
	local now serial z parent child key ds srv out nsn mode
	now=$(date +%s)
	serial=$now
	local order
	order=$(for z in "${LAB_ZONES[@]}"; do echo "$(lab__labels "$z") $z"; done | sort -rn -k1,1 | awk '{print $2}')
	for srv in root arpa ns; do
		mkdir -p "$LAB_DIR/nsd-$srv/zones"
	done
	declare -A ds_of=()
	for z in $order; do
		mode=${LAB_ZONE_MODE[$z]}
		srv=$(lab__zone_server "$z")
		local base
		base=$(basename "$(lab__zone_src "$z")")
		out=$LAB_DIR/nsd-$srv/zones/$base
		{
			echo "\$ORIGIN $z"
			echo "\$TTL 300"
			if ! grep -Eqi '^[^;]*[[:space:]]SOA([[:space:]]|$)' "$(lab__zone_src "$z")"; then
				echo "@ IN SOA $(lab__zone_nsnames "$z" | head -1) hostmaster.example. $serial 3600 600 864000 300"
				for nsn in $(lab__zone_nsnames "$z"); do echo "@ IN NS $nsn"; done
			fi
			cat "$(lab__zone_src "$z")"
			echo
			for child in "${LAB_ZONES[@]}"; do
				[ "$child" != "$z" ] || continue
				parent=$(lab__parent_zone "$child") || continue
				[ "$parent" = "$z" ] || continue
				echo "; delegation of $child"
				for nsn in $(lab__zone_nsnames "$child"); do
					echo "$child IN NS $nsn"
					case $nsn in
					*."$child") echo "$nsn IN A $(lab__ns_addr "$nsn")" ;;
					esac
				done
				[ -n "${ds_of[$child]:-}" ] && cat "${ds_of[$child]}"
			done
		} >"$out.unsigned"
		if [ "$mode" = unsigned ]; then
			mv "$out.unsigned" "$out"
			continue
		fi
		local keydir=$LAB_DIR/keys/$base
		mkdir -p "$keydir"
		# One ECDSA P-256 key per zone, used as a combined signing key.
		key=$(cd "$keydir" && ldns-keygen -a ECDSAP256SHA256 -k "$z" 2>>"$LAB_DIR/lab.log") ||
			lab__bail "ldns-keygen $z"
		lab__run ldns-signzone -o "$z" -i $((now - 3600)) -e $((now + 30 * 86400)) \
			-f "$out" "$out.unsigned" "$keydir/$key" || lab__bail "ldns-signzone $z"
		ds=$keydir/$key.ds
		if [ "$mode" = bogus ]; then
			# The parent vouches for a key the zone does not use.
			local other
			other=$(cd "$keydir" && ldns-keygen -a ECDSAP256SHA256 -k "$z" 2>>"$LAB_DIR/lab.log") ||
				lab__bail "ldns-keygen $z"
			ds=$keydir/$other.ds
		fi
		ds_of[$z]=$ds
		if [ "$z" = . ]; then
			cp "$keydir/$key.key" "$LAB_TRUST_ANCHOR"
			cp "$keydir/$key.ds" "$LAB_DIR/root.ds"
		fi
	done
	[ -s "$LAB_TRUST_ANCHOR" ] || lab__bail "the root zone was not signed"
	chmod 644 "$LAB_TRUST_ANCHOR" "$LAB_DIR/root.ds"
	local i
	{
		echo "; root hints of the sixfour lab"
		for nsn in $(lab__zone_nsnames .); do echo ". 3600000 NS $nsn"; done
		for i in "${!LAB_ROOT_NAMES[@]}"; do
			echo "${LAB_ROOT_NAMES[$i]}.root-servers.net. 3600000 A ${LAB_ROOT4[$i]}"
		done
	} >"$LAB_ROOT_HINTS"
	chmod 644 "$LAB_ROOT_HINTS"
}

lab__nsd_conf() { # lab__nsd_conf SERVER ADDR...
	local srv=$1 dir=$LAB_DIR/nsd-$1 a z
	shift
	{
		echo "server:"
		for a in "$@"; do echo "	ip-address: $a"; done
		echo "	port: 53"
		echo "	do-ip6: no"
		echo "	server-count: 1"
		echo "	username: nsd"
		echo "	chroot: \"\""
		echo "	zonesdir: \"$dir/zones\""
		echo "	database: \"\""
		echo "	zonelistfile: \"$dir/zone.list\""
		echo "	xfrdfile: \"$dir/xfrd.state\""
		echo "	xfrdir: \"$dir\""
		echo "	pidfile: \"$dir/nsd.pid\""
		echo "	logfile: \"$dir/nsd.log\""
		echo "	identity: \"lab-$srv\""
		echo "	hide-version: yes"
		echo "	verbosity: 1"
		# No response rate limiting (benchmarks query hard), and small
		# tables: several labs run at once under make -j2 check.
		echo "	rrl-ratelimit: 0"
		echo "	rrl-size: 1000"
		echo "	tcp-count: 20"
		echo "remote-control:"
		echo "	control-enable: no"
		for z in "${LAB_ZONES[@]}"; do
			[ "$(lab__zone_server "$z")" = "$srv" ] || continue
			echo "zone:"
			echo "	name: \"$z\""
			echo "	zonefile: \"$(basename "$(lab__zone_src "$z")")\""
		done
	} >"$dir/nsd.conf"
}

# lab_dns_start: builds, signs and serves the hierarchy; returns when every
# server answers. Writes $LAB_TRUST_ANCHOR and $LAB_ROOT_HINTS.
lab_dns_start() {
	local -; set +eu
	[ -n "${LAB_ID:-}" ] || lab__bail "lab_dns_start before lab_setup"
	lab__build_zones
	lab__nsd_conf root "${LAB_ROOT4[@]}" "${LAB_ROOT4_EXTRA[@]}"
	lab__nsd_conf arpa "$LAB_ARPA4" "$LAB_INADDR4" "$LAB_IP6ARPA4"
	lab__nsd_conf ns "$LAB_NS1_4" "$LAB_NS2_4"
	local srv
	for srv in root arpa ns; do
		chown -R nsd: "$LAB_DIR/nsd-$srv"
		lab__run nsd-checkconf "$LAB_DIR/nsd-$srv/nsd.conf" || lab__bail "nsd-checkconf $srv"
		lab_bg dns "nsd-$srv" nsd -d -c "$LAB_DIR/nsd-$srv/nsd.conf"
	done
	LAB_DNS_STARTED=1
	local probe
	for probe in "${LAB_ROOT4[0]} ." "${LAB_ROOT4[12]} ." "$LAB_ARPA4 arpa." \
		     "$LAB_INADDR4 in-addr.arpa." "$LAB_NS1_4 example." "$LAB_NS2_4 example."; do
		# shellcheck disable=SC2086
		lab_wait 15 lab__soa_answers $probe || {
			cat "$LAB_DIR"/nsd-*.log "$LAB_DIR"/nsd-*/nsd.log 2>/dev/null | sed 's/^/# /' >&2
			lab__bail "nsd does not answer ${probe#* } SOA at ${probe%% *}"
		}
	done
}

lab__soa_answers() { # lab__soa_answers ADDR ZONE: authoritative SOA from appl
	lab_in appl dig +norec +time=1 +tries=1 "@$1" "$2" SOA | grep -q 'flags: qr aa'
}


# ------------------------------------------------------------ unbound ----

# lab_unbound_start PORT [LINE...]: a throwaway Unbound in the appl
# namespace, recursing through the lab hierarchy with its trust anchor;
# listens on 127.0.0.1 and ::1 at PORT; each LINE is added to its
# server: clause (e.g. 'module-config: "dns64 validator iterator"').
# Sets LAB_UNBOUND_PID; log in $LAB_DIR/unbound-PORT.log.
lab_unbound_start() {
	local -; set +eu
	local port=$1 conf=$LAB_DIR/unbound-$1.conf line
	shift
	lab_require unbound
	{
		echo "server:"
		echo "	interface: 127.0.0.1@$port"
		echo "	interface: ::1@$port"
		echo "	access-control: 0.0.0.0/0 allow"
		echo "	access-control: ::/0 allow"
		echo "	username: \"\""
		echo "	chroot: \"\""
		echo "	directory: \"$LAB_DIR\""
		echo "	pidfile: \"$LAB_DIR/unbound-$port.pid\""
		echo "	use-syslog: no"
		echo "	logfile: \"\""
		echo "	num-threads: 1"
		echo "	do-ip6: no"
		echo "	root-hints: \"$LAB_ROOT_HINTS\""
		echo "	trust-anchor-file: \"$LAB_TRUST_ANCHOR\""
		echo "	val-log-level: 2"
		for line in "$@"; do echo "	$line"; done
		echo "remote-control:"
		echo "	control-enable: no"
	} >"$conf"
	lab__run unbound-checkconf "$conf" || lab__bail "unbound-checkconf $conf"
	lab_bg appl "unbound-$port" unbound -d -c "$conf"
	# shellcheck disable=SC2034 # for the tests
	LAB_UNBOUND_PID=$LAB_LAST_PID
	lab_wait 10 lab__listening appl udp "$port" || lab__bail "unbound on port $port"
}
