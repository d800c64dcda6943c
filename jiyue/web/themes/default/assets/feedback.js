/* The page rating (form[data-rating]): sends the vote without leaving the page and shows the
   answer in place. Clicking the bad button first opens the reasons. Without this script the
   form posts and the thank-you page answers; the texts come from the form's data attributes. */
(function(){
  "use strict";
  if(!window.fetch||!window.FormData){return}
  Array.prototype.forEach.call(document.querySelectorAll("form[data-rating]"),function(form){
    var status=form.querySelector("[data-rating-status]"),
        reasons=form.querySelector("[data-rating-reasons]"),
        vote=form.querySelector(".rating-vote");
    function buttons(disabled){
      Array.prototype.forEach.call(form.querySelectorAll("button"),function(b){b.disabled=disabled});
    }
    form.addEventListener("submit",function(event){
      var button=event.submitter;
      if(!button||!button.name){return}
      event.preventDefault();
      if(button.hasAttribute("data-rating-bad")&&reasons&&!reasons.open){
        reasons.open=true;
        status.textContent=form.getAttribute("data-hint")||"";
        var first=reasons.querySelector("input");
        if(first){first.focus()}
        return;
      }
      var data=new FormData(form);
      data.append(button.name,button.value);
      buttons(true);
      fetch(form.action,{method:"POST",body:data,credentials:"same-origin",
                         headers:{"Accept":"application/json"}})
        .then(function(r){return r.json().then(function(body){return {status:r.status,body:body}})})
        .then(function(res){
          status.textContent=res.body.message||"";
          if(res.body.ok||res.status===409){
            if(vote){vote.hidden=true}
            if(reasons){reasons.hidden=true}
          }else{buttons(false)}
        })
        .catch(function(){status.textContent=form.getAttribute("data-failed")||"";buttons(false)});
    });
  });
})();
