/* The login island in the header of every published page. The pages are static, so the island
   asks this host's /_/account/status who is logged in and then shows the person's name (a link
   to the personal centre) and 退出, or keeps the 登录/注册 link. Without JavaScript the link
   still works: /_/account/login logs in through the identity host and comes back. */
(function(){
  var box=document.querySelector("[data-account-status]");
  if(!box)return;
  var here=location.pathname+location.search,link=box.querySelector("a");
  if(link){link.href=link.getAttribute("href")+"?next="+encodeURIComponent(here)}
  if(!window.fetch)return;
  fetch(box.getAttribute("data-account-status"),{credentials:"same-origin",cache:"no-store",
        headers:{"Accept":"application/json"}})
    .then(function(r){return r.ok?r.json():null})
    .then(function(s){
      if(!s||!s.authenticated)return;
      var name=document.createElement("a"),form=document.createElement("form"),
          button=document.createElement("button");
      name.href=s.links.profile;name.className="account-name";name.textContent=s.name;
      form.method="post";form.action=s.links.logout;form.className="account-logout";
      [["csrfmiddlewaretoken",s.csrf_token||""],["next",here]].forEach(function(p){
        var i=document.createElement("input");i.type="hidden";i.name=p[0];i.value=p[1];form.appendChild(i);
      });
      button.type="submit";button.textContent=box.getAttribute("data-exit-label")||"\u9000\u51fa";
      form.appendChild(button);
      box.textContent="";box.appendChild(name);box.appendChild(form);
      box.setAttribute("data-logged-in","true");
    })
    .catch(function(){});
})();
